//! `quinn-perf`: `synack perf`'s bulk and request/response modes over QUIC
//! (quinn, rustls with ring), as a baseline for scripts/bench-compare.py.
//!
//! ```text
//! quinn-perf server ADDR
//! quinn-perf client ADDR --time 10s [--json]
//! quinn-perf client ADDR --rr N [--size 64] [--json]
//! ```
//!
//! The server makes a self-signed certificate for `localhost` at start.
//! The client checks the handshake's signatures but trusts any
//! certificate: it is a loopback benchmark, not a secure client. Each
//! client opens one connection and one bidirectional stream, and speaks
//! the protocol of `synack perf`: a mode byte; `S` (stream) then data until
//! the client finishes its side, answered with the count (8 bytes, big
//! endian); `R` (request/response) then a 4-byte message size, then
//! messages of that size, each echoed. The JSON has the keys of
//! `synack perf --json` that apply: `bytes`, `seconds`, `goodput_bps`, and
//! for `--rr`, `rr: {exchanges, size, mean_us, p50_us, p99_us}`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The size of each write in bulk mode, as in `synack perf`.
const CHUNK: usize = 256 * 1024;

const USAGE: &str = "usage: quinn-perf server ADDR\n       quinn-perf client ADDR (--time SECS | --rr N [--size BYTES]) [--json]";

/// What the client was asked to do.
struct ClientArgs {
    addr: SocketAddr,
    time: Duration,
    rr: Option<u64>,
    size: u32,
    json: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&e.into()),
    };
    let result = match args.first().map(String::as_str) {
        Some("server") => parse_addr(args.get(1)).and_then(|a| rt.block_on(server(a))),
        Some("client") => parse_client(&args[1..]).and_then(|a| rt.block_on(client(&a))),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &BoxError) -> ExitCode {
    eprintln!("quinn-perf: {e}");
    ExitCode::FAILURE
}

fn parse_addr(a: Option<&String>) -> Result<SocketAddr, BoxError> {
    let a = a.ok_or(USAGE)?;
    a.parse().map_err(|e| format!("{a}: {e}").into())
}

fn parse_client(args: &[String]) -> Result<ClientArgs, BoxError> {
    let mut c = ClientArgs {
        addr: parse_addr(args.first())?,
        time: Duration::from_secs(10),
        rr: None,
        size: 64,
        json: false,
    };
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--time" => {
                let v = value()?;
                let secs: f64 = v.trim_end_matches('s').parse()?;
                c.time = Duration::try_from_secs_f64(secs)?;
            }
            "--rr" => c.rr = Some(value()?.parse()?),
            "--size" => c.size = value()?.parse()?,
            "--json" => c.json = true,
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    Ok(c)
}

/// rustls with *ring*, which builds without cmake or nasm (aws-lc-rs needs
/// both). rustls deprecates it for lack of post-quantum key exchange,
/// which does not matter for a loopback benchmark.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

async fn server(addr: SocketAddr) -> Result<(), BoxError> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)?;
    let config = quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(tls)?));
    let endpoint = quinn::Endpoint::server(config, addr)?;
    eprintln!("quinn-perf: listening on {}", endpoint.local_addr()?);
    while let Some(incoming) = endpoint.accept().await {
        tokio::spawn(async move {
            if let Err(e) = serve(incoming).await {
                eprintln!("quinn-perf: client: {e}");
            }
        });
    }
    Ok(())
}

/// Serves one connection's one stream.
async fn serve(incoming: quinn::Incoming) -> Result<(), BoxError> {
    let conn = incoming.await?;
    let (mut send, mut recv) = conn.accept_bi().await?;
    let mut mode = [0u8; 1];
    recv.read_exact(&mut mode).await?;
    match mode[0] {
        b'S' => {
            let mut buf = vec![0u8; CHUNK];
            let mut n: u64 = 0;
            while let Some(k) = recv.read(&mut buf).await? {
                n += k as u64;
            }
            send.write_all(&n.to_be_bytes()).await?;
        }
        b'R' => {
            let mut size = [0u8; 4];
            recv.read_exact(&mut size).await?;
            let mut msg = vec![0u8; u32::from_be_bytes(size).max(1) as usize];
            loop {
                match recv.read_exact(&mut msg).await {
                    Ok(()) => send.write_all(&msg).await?,
                    Err(quinn::ReadExactError::FinishedEarly(_)) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        m => return Err(format!("unknown mode byte {m}").into()),
    }
    send.finish()?;
    // Wait for the client to close, so the last bytes are delivered.
    conn.closed().await;
    Ok(())
}

async fn client(args: &ClientArgs) -> Result<(), BoxError> {
    let tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(
            provider().signature_verification_algorithms,
        )))
        .with_no_client_auth();
    let config = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls)?));
    let bind: SocketAddr = if args.addr.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let mut endpoint = quinn::Endpoint::client(bind)?;
    endpoint.set_default_client_config(config);
    let started = Instant::now();
    let conn = endpoint.connect(args.addr, "localhost")?.await?;
    let (mut send, mut recv) = conn.open_bi().await?;
    let (bytes, latencies) = if let Some(n) = args.rr {
        send.write_all(b"R").await?;
        send.write_all(&args.size.to_be_bytes()).await?;
        let mut msg = vec![0u8; args.size.max(1) as usize];
        for (i, b) in msg.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        let mut back = vec![0u8; msg.len()];
        let mut lat = Vec::with_capacity(usize::try_from(n)?);
        for _ in 0..n {
            let t = Instant::now();
            send.write_all(&msg).await?;
            recv.read_exact(&mut back).await?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        if back != msg {
            return Err("echo differs".into());
        }
        send.finish()?;
        recv.read_to_end(1 << 20).await?;
        lat.sort_by(f64::total_cmp);
        (n * u64::from(args.size) * 2, Some(lat))
    } else {
        send.write_all(b"S").await?;
        let mut buf = vec![0u8; CHUNK];
        let mut x: u32 = 9;
        for b in buf.iter_mut() {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *b = (x >> 24) as u8;
        }
        let deadline = started + args.time;
        let mut sent: u64 = 0;
        while Instant::now() < deadline {
            send.write_all(&buf).await?;
            sent += buf.len() as u64;
        }
        send.finish()?;
        let mut count = [0u8; 8];
        recv.read_exact(&mut count).await?;
        let counted = u64::from_be_bytes(count);
        if counted != sent {
            return Err(format!("sent {sent} bytes, the server counted {counted}").into());
        }
        (counted, None)
    };
    let seconds = started.elapsed().as_secs_f64();
    conn.close(0u32.into(), b"done");
    endpoint.wait_idle().await;
    report(args, bytes, seconds, latencies.as_deref());
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(args: &ClientArgs, bytes: u64, seconds: f64, lat: Option<&[f64]>) {
    let goodput = bytes as f64 * 8.0 / seconds.max(1e-9);
    let rr = lat.map(|l| {
        let mean = l.iter().sum::<f64>() / l.len().max(1) as f64;
        (l.len(), mean, percentile(l, 0.5), percentile(l, 0.99))
    });
    if args.json {
        let mut s = format!(
            "{{\"bytes\":{bytes},\"seconds\":{seconds},\"goodput_bps\":{goodput},\"stack\":\"quinn\""
        );
        if let Some((n, mean, p50, p99)) = rr {
            s += &format!(
                ",\"rr\":{{\"exchanges\":{n},\"size\":{},\"mean_us\":{mean},\"p50_us\":{p50},\"p99_us\":{p99}}}",
                args.size
            );
        }
        println!("{s}}}");
    } else if let Some((n, mean, p50, p99)) = rr {
        println!(
            "quinn perf: {n} exchanges of {} bytes: mean {mean:.1} µs, p50 {p50:.1} µs, p99 {p99:.1} µs",
            args.size
        );
    } else {
        println!(
            "quinn perf: {bytes} bytes in {seconds:.2} s: goodput {:.2} Gbit/s",
            goodput / 1e9
        );
    }
}

/// Trusts any server certificate, but checks the handshake signatures
/// with the provider's algorithms.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
