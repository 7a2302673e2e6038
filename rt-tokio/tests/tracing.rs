//! The adapters say what went wrong through `tracing`: a runtime that shuts
//! down under open connections is reported.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::stack;
use tokio::io::AsyncWriteExt;

/// A writer the subscriber formats events into.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_runtime_shutting_down_under_open_connections_is_a_warning() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // A current-thread runtime runs (and drops) the drivers on this thread,
    // where the subscriber is the default.
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let held = rt.block_on(async {
            let server = stack();
            let client = stack();
            let addr = server.udp_addr().unwrap();
            let listener = server.bind_addr(addr).unwrap();
            let mut stream = client.connect(addr).await.unwrap();
            let (accepted, _) = listener.accept().await.unwrap();
            stream.write_all(b"unfinished").await.unwrap();
            (stream, accepted, listener)
        });
        drop(rt);
        drop(held);
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("WARN") && text.contains("the driver was dropped"),
        "no warning was emitted: {text:?}"
    );
}
