//! Helpers shared by the engine's test files.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The engine under test: `DGEN_FIO_ENGINE`, else `libdgen_fio.so` next to the test binary's
/// directory (where `cargo build --release -p dgen-fio` puts it). Panics, saying how to build it,
/// when it is missing.
pub fn engine() -> PathBuf {
    if let Ok(p) = std::env::var("DGEN_FIO_ENGINE") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "DGEN_FIO_ENGINE={} does not exist",
            p.display()
        );
        return p;
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let p = dir.join("libdgen_fio.so");
    assert!(
        p.is_file(),
        "{} not found: build it (cargo build --release -p dgen-fio) or set DGEN_FIO_ENGINE",
        p.display()
    );
    p
}

/// A finished command's stdout then stderr, as text (for assertions and their messages).
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A `fio --server` on a free port of 127.0.0.1, killed when dropped (whatever the test does).
pub struct Server {
    /// The port it listens on.
    pub port: u16,
    child: Child,
}

impl Server {
    /// Starts `fio --server` (the binary `fio`) in `dir` with its stderr going to `stderr`, and
    /// waits (10 s at most) until it listens.
    pub fn start(fio: &Path, dir: &Path, stderr: Stdio) -> Server {
        Server::start_with_env(fio, dir, stderr, &[])
    }

    /// [`Server::start`] with `env` added to the server's environment.
    pub fn start_with_env(fio: &Path, dir: &Path, stderr: Stdio, env: &[(&str, &str)]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Server {
            port,
            child: Command::new(fio)
                .arg(format!("--server=ip:127.0.0.1,{port}"))
                .current_dir(dir)
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap(),
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "fio server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
