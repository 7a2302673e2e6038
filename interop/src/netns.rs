//! Network namespaces a test creates for itself and deletes when done.
//!
//! A thread enters a namespace with `setns(2)` (through `nix`'s safe
//! wrapper), so sockets and TUN devices it creates live there; the rest of
//! the process is untouched, and tests in other threads use namespaces of
//! their own. Configuration goes through `ip -n NAME …` and
//! `ip netns exec NAME …`.

use std::fs::File;
use std::future::Future;
use std::io;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

/// A named network namespace, deleted (`ip netns del`) when dropped, also
/// while a failing test unwinds.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

/// Runs `program args`, failing with its stderr when it exits non-zero.
pub fn run(program: &str, args: &[&str]) -> io::Result<Output> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(io::Error::other(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl Netns {
    /// Creates `synack-it-<pid>-<case>` with its loopback up. A namespace
    /// of that name left by an earlier run of this process id is replaced.
    pub fn create(case: &str) -> io::Result<Netns> {
        let name = format!("synack-it-{}-{case}", std::process::id());
        if std::path::Path::new("/run/netns").join(&name).exists() {
            let _ = run("ip", &["netns", "del", &name]);
        }
        run("ip", &["netns", "add", &name])?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Its name, for `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME args…`; its standard output.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all).map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// `ip netns exec NAME program args…`; its standard output.
    pub fn exec(&self, program: &str, args: &[&str]) -> io::Result<String> {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        run("ip", &all).map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// Sets a sysctl inside the namespace (`net.*` ones are per namespace).
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        self.exec("sysctl", &["-q", "-w", &format!("{key}={value}")])
            .map(drop)
    }

    /// Reads a sysctl inside the namespace.
    pub fn read_sysctl(&self, key: &str) -> io::Result<String> {
        self.exec("sysctl", &["-n", key])
            .map(|s| s.trim().to_string())
    }

    /// Moves the calling thread into the namespace. Only for threads made
    /// for it ([`Netns::spawn`]); the thread stays there.
    pub fn enter(&self) -> io::Result<()> {
        let file = File::open(format!("/run/netns/{}", self.name))?;
        setns(&file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
    }

    /// Runs `f` on a new thread inside the namespace.
    pub fn spawn<T, F>(&self, what: &str, f: F) -> io::Result<std::thread::JoinHandle<T>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let file = File::open(format!("/run/netns/{}", self.name))?;
        std::thread::Builder::new()
            .name(format!("{}:{what}", self.name))
            .spawn(move || {
                setns(&file, CloneFlags::CLONE_NEWNET)
                    .unwrap_or_else(|e| panic!("cannot enter the test namespace: {e}"));
                drop(file);
                f()
            })
    }

    /// Starts the future `f()` makes on a current-thread tokio runtime, on
    /// a thread inside the namespace, limited to `limit` (past it the
    /// thread panics); [`NsTask::join`] waits for it.
    pub fn spawn_async<T, F, Fut>(&self, what: &str, limit: Duration, f: F) -> NsTask<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
    {
        let (tx, rx) = mpsc::channel();
        let what_owned = what.to_string();
        let handle = self
            .spawn(what, move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build a tokio runtime");
                let out = rt.block_on(async move {
                    tokio::time::timeout(limit, f())
                        .await
                        .unwrap_or_else(|_| panic!("{what_owned} did not finish within {limit:?}"))
                });
                drop(rt);
                let _ = tx.send(());
                out
            })
            .expect("spawn a thread in the namespace");
        NsTask {
            what: what.to_string(),
            limit,
            handle,
            done: rx,
        }
    }

    /// Runs the future `f()` makes on a current-thread tokio runtime, on a
    /// thread inside the namespace, within `limit`: a panic inside is
    /// raised again here, and a run past the limit fails with a clear
    /// message.
    pub fn block_on<T, F, Fut>(&self, what: &str, limit: Duration, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
    {
        self.spawn_async(what, limit, f).join()
    }
}

/// A future running on a thread inside a namespace
/// ([`Netns::spawn_async`]).
#[derive(Debug)]
pub struct NsTask<T> {
    what: String,
    limit: Duration,
    handle: std::thread::JoinHandle<T>,
    done: mpsc::Receiver<()>,
}

impl<T> NsTask<T> {
    /// Waits for its value; a panic inside is raised again here. A thread
    /// stuck in a blocking call past the limit (plus 30 s of grace) is
    /// left behind, and this fails with a clear message.
    pub fn join(self) -> T {
        let grace = Duration::from_secs(30);
        let started = Instant::now();
        // The thread sends when done; a panic drops the sender.
        match self.done.recv_timeout(self.limit + grace) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "{} is stuck after {:?} (limit {:?})",
                self.what,
                started.elapsed(),
                self.limit
            ),
        }
        match self.handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = run("ip", &["netns", "del", &self.name]) {
            eprintln!("[interop] could not delete namespace {}: {e}", self.name);
        }
    }
}
