//! Packet captures with tcpdump inside a namespace: started before the
//! traffic (it waits for tcpdump to say it is listening), stopped with
//! SIGINT so the file is flushed and complete. Immediate mode: without
//! it, packets waiting in a ring block that has not been handed over yet
//! when tcpdump stops are lost.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long tcpdump may take to start and to stop.
const START_LIMIT: Duration = Duration::from_secs(15);
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// A running capture.
#[derive(Debug)]
pub struct Capture {
    child: Option<Child>,
    path: PathBuf,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// What tcpdump said when it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// The file.
    pub path: PathBuf,
    /// Packets written.
    pub captured: u64,
    /// Packets the kernel dropped before tcpdump saw them (then tshark
    /// reports gaps that were not on the wire).
    pub dropped: u64,
}

impl Capture {
    /// Starts tcpdump on `iface` in the namespace named `ns`, writing
    /// `path`, keeping `snaplen` bytes of each packet (0: whole packets of
    /// up to 2048 bytes, enough for an MTU of 1500).
    /// Returns once it listens.
    pub fn start(ns: &str, iface: &str, path: &Path, snaplen: u32) -> io::Result<Capture> {
        // In immediate mode libpcap's ring holds buffer / snap length
        // frames: tcpdump's default of 262144 bytes would leave 64 in a
        // 16 MiB buffer and drop packets in bursts. A TUN device's packets
        // fit in its MTU, so "whole packets" is 2048 bytes here.
        let snap = if snaplen == 0 { 2048 } else { snaplen };
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "tcpdump"])
            .args([
                "-i",
                iface,
                "-n",
                "-Z",
                "root",
                "-B",
                "16384",
                "--immediate-mode",
            ])
            .args(["-s", &snap.to_string()])
            .arg("-w")
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run tcpdump: {e}")))?;
        let stderr = child.stderr.take().expect("piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(());
                }
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let mut capture = Capture {
            child: Some(child),
            path: path.to_path_buf(),
            stderr: lines,
            reader: Some(reader),
        };
        match rx.recv_timeout(START_LIMIT) {
            Ok(()) => Ok(capture),
            Err(_) => {
                capture.kill();
                Err(io::Error::other(format!(
                    "tcpdump on {iface} did not start: {}",
                    capture.stderr_text()
                )))
            }
        }
    }

    /// The file it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it cleanly (SIGINT, so tcpdump flushes the file) and says
    /// how many packets it wrote and lost.
    pub fn stop(mut self) -> io::Result<CaptureStats> {
        let mut child = self.child.take().expect("running");
        let pid = Pid::from_raw(child.id() as i32);
        if let Err(e) = kill(pid, Signal::SIGINT) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::from(e));
        }
        let deadline = Instant::now() + STOP_LIMIT;
        loop {
            if child.try_wait()?.is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!(
                    "tcpdump did not stop within {STOP_LIMIT:?}; {} may be incomplete",
                    self.path.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let text = self.stderr_text();
        let count = |what: &str| {
            text.lines()
                .find(|l| l.ends_with(what))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Ok(CaptureStats {
            path: self.path.clone(),
            captured: count("packets captured"),
            dropped: count("packets dropped by kernel"),
        })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.kill();
    }
}
