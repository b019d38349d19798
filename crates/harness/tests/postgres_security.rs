//! The throw-away PostgreSQL server lets no one else in, and its guardian obeys no file the
//! server's user can write.
//!
//! These need the server binaries (`.ci/run` installs them); acting as another local user
//! needs root (CI is root). Without either, each test says it skipped — and fails under `CI`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use membench_harness::postgres::{Cluster, ClusterConfig, find_bin_dir};

fn skip(why: &str) -> bool {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run this test, but: {why}"
    );
    eprintln!("SKIPPED: {why}");
    true
}

fn pg_bin() -> Option<PathBuf> {
    let bin = find_bin_dir();
    if bin.is_none() {
        skip("no PostgreSQL server binaries (apt-get install postgresql)");
    }
    bin
}

fn is_root() -> bool {
    // SAFETY: no arguments.
    unsafe { libc::geteuid() == 0 }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s[s.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
}

#[test]
fn the_folder_and_socket_are_private_and_another_user_cannot_connect() {
    let Some(bin) = pg_bin() else { return };
    let c = Cluster::start(&bin, &ClusterConfig::default()).unwrap();
    let dir = c.dir().to_path_buf();
    let meta = std::fs::metadata(&dir).unwrap();
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o700,
        "{}",
        dir.display()
    );
    let socket = std::fs::metadata(dir.join(".s.PGSQL.5432")).unwrap();
    assert_eq!(socket.permissions().mode() & 0o777, 0o700);
    if is_root() {
        let postgres_uid = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .unwrap();
        let uid: u32 = String::from_utf8_lossy(&postgres_uid.stdout)
            .trim()
            .parse()
            .unwrap();
        assert_eq!(meta.uid(), uid, "the folder belongs to the server's user");
    }
    // We get in with the URL's password; the URL without it does not.
    let mut client = postgres::Client::connect(c.url(), postgres::NoTls).unwrap();
    let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    let without: String = c
        .url()
        .split_whitespace()
        .filter(|kv| !kv.starts_with("password="))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(postgres::Client::connect(&without, postgres::NoTls).is_err());
    if !is_root() {
        skip("acting as another local user needs root");
        return;
    }
    // Another local user cannot reach the socket, even knowing the password.
    let psql = Command::new("runuser")
        .args(["-u", "nobody", "--", "psql", "-h"])
        .arg(&dir)
        .args([
            "-U",
            "membench",
            "-d",
            "postgres",
            "-tAc",
            "select usesuper from pg_user",
        ])
        .env(
            "PGPASSWORD",
            c.url()
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("password="))
                .unwrap(),
        )
        .output()
        .unwrap();
    assert!(
        !psql.status.success(),
        "another user connected: {}",
        String::from_utf8_lossy(&psql.stdout)
    );
    c.stop().unwrap();
    assert!(!dir.exists());
}

/// `postmaster.pid` is the server user's to write: a forged pid there is never killed.
#[test]
fn a_forged_postmaster_pid_is_not_obeyed() {
    let Some(bin) = pg_bin() else { return };
    let c = Cluster::start(&bin, &ClusterConfig::default()).unwrap();
    let server = c.server_pid();
    assert!(alive(server));
    let mut bystander = Command::new("sleep").arg("120").spawn().unwrap();
    let pidfile = c.dir().join("data/postmaster.pid");
    let text = std::fs::read_to_string(&pidfile).unwrap();
    let forged: String = std::iter::once(bystander.id().to_string())
        .chain(text.lines().skip(1).map(str::to_string))
        .map(|l| l + "\n")
        .collect();
    std::fs::write(&pidfile, forged).unwrap();
    let dir = c.dir().to_path_buf();
    c.stop().unwrap();
    assert!(
        alive(bystander.id()),
        "the guardian killed the pid a file named"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(server) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(server), "the real server {server} is still running");
    assert!(!dir.exists());
    bystander.kill().unwrap();
    let _ = bystander.wait();
}

/// A temp folder with a space in its name (`TMPDIR="/tmp/a b"`) is one connection-string value.
#[test]
fn a_temp_folder_with_a_space_still_connects() {
    let Some(bin) = pg_bin() else { return };
    let base = tempfile::Builder::new()
        .prefix("membench tmp ")
        .tempdir()
        .unwrap();
    if is_root() {
        // The server's user must reach its folder inside this one.
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    let config = ClusterConfig {
        parent: Some(base.path().to_path_buf()),
        ..ClusterConfig::default()
    };
    let c = Cluster::start(&bin, &config);
    let c = c.unwrap();
    assert!(c.dir().starts_with(base.path()));
    let mut client = postgres::Client::connect(c.url(), postgres::NoTls).unwrap();
    let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    drop(client);
    c.stop().unwrap();
}
