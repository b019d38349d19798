//! A throw-away PostgreSQL server for the `postgres` strategy: `initdb` into a private folder,
//! a Unix socket in that folder and no TCP listener, run as an unprivileged user when we are
//! root (the server refuses root), and removed at the end — also when the driver is killed.
//!
//! The removal does not depend on the driver surviving: a guardian (`sh`, in its own session)
//! holds the read end of a pipe whose write end only the driver has. When the driver closes it
//! — normally, on an error, or because the kernel closed it when the driver died, even by
//! `SIGKILL` — the guardian stops the server (`pg_ctl stop -m immediate`, then `kill -9` as a
//! last resort) and deletes the folder.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

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
}

/// A running throw-away server. Dropping it stops the server and removes its folder.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    url: String,
    guardian: Option<Child>,
}

/// The guardian: waits for its stdin to close, then stops the server and removes the folder.
/// `$1` the folder, `$2` pg_ctl, the rest the command prefix that runs as the server's user.
const GUARDIAN: &str = r#"
dir="$1"; pg_ctl="$2"; shift 2
cat >/dev/null
if [ -f "$dir/data/postmaster.pid" ]; then
  "$@" "$pg_ctl" -D "$dir/data" -m immediate -w -t 20 stop >/dev/null 2>&1 ||
    kill -9 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null
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

/// A fresh private folder the server's user owns (under the system temp folder: a clone under
/// a private home directory is not reachable by that user).
fn make_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    let dir = tempfile::Builder::new()
        .prefix("membench-pg-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a folder in {}", base.display()))?
        .keep();
    if is_root() {
        let status = Command::new("chown")
            .arg(SERVER_USER)
            .arg(&dir)
            .status()
            .context("running chown")?;
        if !status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            bail!(
                "cannot hand {} to the `{SERVER_USER}` user (the server refuses to run as \
                 root; create that user or pass --postgres-url)",
                dir.display()
            );
        }
    }
    Ok(dir)
}

impl Cluster {
    /// Creates and starts a server with the binaries in `bin`; returns once it accepts
    /// connections.
    pub fn start(bin: &Path, config: &ClusterConfig) -> Result<Cluster> {
        let dir = make_dir()?;
        let prefix = run_as();
        let mut guardian = Command::new("sh");
        guardian
            .arg("-c")
            .arg(GUARDIAN)
            .arg("membench-pg-guardian")
            .arg(&dir)
            .arg(bin.join("pg_ctl"))
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
        let mut cluster = Cluster {
            url: format!(
                "host={} port=5432 user=membench dbname=postgres",
                dir.display()
            ),
            dir,
            guardian: Some(guardian),
        };
        cluster.init(bin, &prefix, config)?;
        Ok(cluster)
    }

    fn init(&mut self, bin: &Path, prefix: &[OsString], config: &ClusterConfig) -> Result<()> {
        let data = self.dir.join("data");
        let out = command(prefix, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "membench",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .arg("--no-sync")
            .output()
            .context("running initdb")?;
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
            "\n# membench throw-away server: socket only, no durability (the data is scratch)\n\
             listen_addresses = ''\nport = 5432\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n{shared}",
            self.dir.display()
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
        Ok(())
    }

    /// The connection string (libpq key=value form).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's folder (removed at the end).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server and removes its folder; waits up to 30 s for the guardian to finish.
    pub fn stop(mut self) -> Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<()> {
        let Some(mut g) = self.guardian.take() else {
            return Ok(());
        };
        drop(g.stdin.take());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if g.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "the PostgreSQL server in {} did not stop within 30 s",
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
        .with_context(|| format!("connecting to {url}"))?;
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .with_context(|| format!("dropping schema {schema}"))
}
