//! A throw-away PostgreSQL server for the `postgres` strategy: `initdb` into a private folder
//! (`0700`, random name), a Unix socket (`0700`) in that folder and no TCP listener, a random
//! password, run as an unprivileged user when we are root (the server refuses root), and
//! removed at the end — also when the driver is killed.
//!
//! The removal does not depend on the driver surviving: a guardian (`sh`, in its own session)
//! holds the read end of a pipe whose write end only the driver has. When the driver closes it
//! — normally, on an error, or because the kernel closed it when the driver died, even by
//! `SIGKILL` — the guardian stops the server (`pg_ctl stop -m immediate`, then `kill -9` of
//! the pid the driver recorded at start, never one read from the server's own files) and
//! deletes the folder.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub use membench_protocol::redact;

/// The folder with `initdb` and `pg_ctl`: `MEMBENCH_PG_BIN`, else `PATH`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout, not on `PATH`).
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(d) = std::env::var_os("MEMBENCH_PG_BIN") {
        return Some(PathBuf::from(d)).filter(|d| has_both(d));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(d) = on_path.into_iter().find(|d| has_both(d)) {
        return Some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_both(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

/// Settings of the throw-away server.
#[derive(Clone, Debug, Default)]
pub struct ClusterConfig {
    /// `shared_buffers` in bytes (default: PostgreSQL's 128 MB).
    pub shared_buffers_bytes: Option<u64>,
    /// Where the server's private folder is made (default: the system temp folder).
    pub parent: Option<PathBuf>,
}

/// A running throw-away server. Dropping it stops the server and removes its folder.
///
/// Nobody else gets in: the folder is `0700` and owned by the server's user, the socket is
/// `0700` in it, there is no TCP listener, and the one role (`membench`, a superuser) logs in
/// with a random password (SCRAM) that only [`Cluster::url`] carries.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    url: String,
    /// The postmaster's pid, read once when it started and checked to be the server binary:
    /// the only process the guardian will ever kill.
    server_pid: u32,
    guardian: Option<Child>,
}

/// The guardian: reads the server's pid (recorded by the driver once the server started), waits
/// for its stdin to close, stops the server, kills the recorded pid only if it is still that
/// server binary, waits for it to be gone, then removes the folder. It never obeys
/// `postmaster.pid`, which the server's user can write.
/// `$1` the folder, `$2` pg_ctl, `$3` the server binary, the rest the command prefix that runs
/// as the server's user.
const GUARDIAN: &str = r#"
dir="$1"; pg_ctl="$2"; server="$3"; shift 3
pid=""
IFS= read -r pid || true
cat >/dev/null
case "$pid" in ''|0*|*[!0-9]*) pid="" ;; esac
"$@" "$pg_ctl" -D "$dir/data" -m immediate -w -t 20 stop >/dev/null 2>&1
if [ -n "$pid" ]; then
  n=0
  while [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$server" ]; do
    if [ "$n" -eq 50 ]; then kill -9 "$pid" 2>/dev/null; fi
    n=$((n + 1))
    [ "$n" -gt 300 ] && break
    sleep 0.1
  done
fi
rm -rf "$dir"
"#;

/// The unprivileged user the server runs as when we are root.
const SERVER_USER: &str = "postgres";

fn is_root() -> bool {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The command prefix that runs a program as the server's user (empty unless root).
fn run_as() -> Vec<OsString> {
    if is_root() {
        ["runuser", "-u", SERVER_USER, "--"]
            .map(OsString::from)
            .to_vec()
    } else {
        Vec::new()
    }
}

fn command(prefix: &[OsString], program: &Path) -> Command {
    match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Hands `path` to the server's user (when we are root).
fn hand_over(path: &Path) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    let status = Command::new("chown")
        .arg(SERVER_USER)
        .arg(path)
        .status()
        .context("running chown")?;
    if !status.success() {
        bail!(
            "cannot hand {} to the `{SERVER_USER}` user (the server refuses to run as root; \
             create that user or pass --postgres-url)",
            path.display()
        );
    }
    Ok(())
}

/// A fresh private folder (random name, mode `0700`) the server's user owns, under the system
/// temp folder (a clone under a private home directory is not reachable by that user).
fn make_dir(parent: Option<&Path>) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let base = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let dir = tempfile::Builder::new()
        .prefix("membench-pg-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(&base)
        .with_context(|| format!("creating a folder in {}", base.display()))?
        .keep();
    if let Err(e) = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(anyhow::Error::from)
        .and_then(|()| hand_over(&dir))
    {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok(dir)
}

/// A value for a libpq `key=value` connection string: single-quoted, `\` and `'` escaped (a
/// folder with a space or a quote stays one value).
pub fn conninfo_value(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A string for `postgresql.conf`: single-quoted, `'` doubled.
fn conf_value(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// The pid `postmaster.pid` names, accepted only if it is a positive number and that process
/// runs `server` (the file is the server user's to write; it is read once, right after start).
fn read_server_pid(data: &Path, server: &Path) -> Result<u32> {
    let text = std::fs::read_to_string(data.join("postmaster.pid"))
        .context("reading postmaster.pid after start")?;
    let first = text.lines().next().unwrap_or("").trim();
    let pid: u32 = first
        .parse()
        .ok()
        .filter(|&p| p > 1)
        .with_context(|| format!("postmaster.pid names {first:?}, not a server pid"))?;
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .with_context(|| format!("postmaster.pid names {pid}, which is not running"))?;
    if exe != server {
        bail!(
            "postmaster.pid names {pid}, which runs {} and not {}",
            exe.display(),
            server.display()
        );
    }
    Ok(pid)
}

impl Cluster {
    /// Creates and starts a server with the binaries in `bin`; returns once it accepts
    /// connections.
    pub fn start(bin: &Path, config: &ClusterConfig) -> Result<Cluster> {
        let server = std::fs::canonicalize(bin.join("postgres"))
            .with_context(|| format!("finding the server binary in {}", bin.display()))?;
        let dir = make_dir(config.parent.as_deref())?;
        let prefix = run_as();
        let mut guardian = Command::new("sh");
        guardian
            .arg("-c")
            .arg(GUARDIAN)
            .arg("membench-pg-guardian")
            .arg(&dir)
            .arg(bin.join("pg_ctl"))
            .arg(&server)
            .args(&prefix)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent. It detaches
        // the guardian from our session, so a signal to our process group or terminal does not
        // reach it.
        unsafe {
            guardian.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let guardian = guardian
            .spawn()
            .context("starting the guardian shell (sh)")?;
        let password = crate::reaper::random_token();
        let mut cluster = Cluster {
            url: format!(
                "host={} port=5432 user=membench dbname=postgres password={password}",
                conninfo_value(&dir.to_string_lossy())
            ),
            dir,
            server_pid: 0,
            guardian: Some(guardian),
        };
        cluster.init(bin, &server, &prefix, config, &password)?;
        Ok(cluster)
    }

    fn init(
        &mut self,
        bin: &Path,
        server: &Path,
        prefix: &[OsString],
        config: &ClusterConfig,
        password: &str,
    ) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let data = self.dir.join("data");
        // The password reaches initdb through a file only the server's user can read, removed
        // right after.
        let pwfile = self.dir.join("pwfile");
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&pwfile)
            .and_then(|mut f| writeln!(f, "{password}"))
            .context("writing the password file")?;
        hand_over(&pwfile)?;
        let out = command(prefix, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "membench",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("--no-sync")
            .output()
            .context("running initdb");
        let _ = std::fs::remove_file(&pwfile);
        let out = out?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .context("opening postgresql.conf")?;
        let shared = config
            .shared_buffers_bytes
            .map(|b| format!("shared_buffers = '{}kB'\n", (b / 1024).max(128)))
            .unwrap_or_default();
        write!(
            conf,
            "\n# membench throw-away server: socket only, private, no durability (the data is \
             scratch)\nlisten_addresses = ''\nport = 5432\nunix_socket_directories = {}\n\
             unix_socket_permissions = 0700\npassword_encryption = 'scram-sha-256'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n{shared}",
            conf_value(&self.dir.to_string_lossy())
        )
        .context("writing postgresql.conf")?;
        let out = command(prefix, &bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .output()
            .context("running pg_ctl start")?;
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            bail!(
                "pg_ctl start failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                log.trim()
            );
        }
        self.server_pid = read_server_pid(&data, server)?;
        let stdin = self
            .guardian
            .as_mut()
            .and_then(|g| g.stdin.as_mut())
            .context("the guardian has no pipe")?;
        writeln!(stdin, "{}", self.server_pid).context("telling the guardian the server's pid")?;
        Ok(())
    }

    /// The connection string (libpq key=value form), password included: hand it to runners by
    /// environment (`MEMBENCH_POSTGRES_URL`), print it only through [`redact`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's folder (removed at the end).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The postmaster's pid, as recorded when it started.
    pub fn server_pid(&self) -> u32 {
        self.server_pid
    }

    /// Stops the server and removes its folder; returns when the server's process is gone and
    /// the folder removed (at most about 40 s).
    pub fn stop(mut self) -> Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<()> {
        let Some(mut g) = self.guardian.take() else {
            return Ok(());
        };
        drop(g.stdin.take());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(45) {
            if g.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "the PostgreSQL server in {} did not stop within 45 s",
            self.dir.display()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// Drops `schema` (and everything in it) on the server at `url`: the end of a run on a server
/// membench did not start.
pub fn drop_schema(url: &str, schema: &str) -> Result<()> {
    let mut client = ::postgres::Client::connect(url, ::postgres::NoTls)
        .with_context(|| format!("connecting to {}", redact(url)))?;
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .with_context(|| format!("dropping schema {schema}"))
}
