//! A fault-injecting HTTP proxy on loopback, between the binary and moto: requests
//! pass through unchanged unless a rule matches, and then the proxy stalls them
//! (reads the request, never answers) or answers an error itself. One request per
//! connection (`Connection: close` both ways), so every request is seen whole.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to a matching request.
#[derive(Clone)]
pub enum Fault {
    /// Read the request and never answer (until the proxy is dropped).
    Stall,
    /// Answer with this status and body instead of moto.
    Answer { status: u16, body: String },
    /// Run this (another writer acting between the plan and the write), then pass
    /// the request on.
    Before(std::sync::Arc<dyn Fn() + Send + Sync>),
    /// Close the connection without an answer.
    Drop,
    /// Wait, then pass the request on.
    Delay(Duration),
    /// Pass the request on and cut moto's answer short.
    Truncate,
    /// Pass the request on without its `If-None-Match` and `If-Match` headers: a
    /// store that ignores conditional writes.
    StripConditions,
}

impl std::fmt::Debug for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stall => write!(f, "Stall"),
            Self::Answer { status, .. } => write!(f, "Answer({status})"),
            Self::Before(_) => write!(f, "Before(..)"),
            Self::Drop => write!(f, "Drop"),
            Self::Delay(d) => write!(f, "Delay({d:?})"),
            Self::Truncate => write!(f, "Truncate"),
            Self::StripConditions => write!(f, "StripConditions"),
        }
    }
}

/// A request rule: method and the start of the request target (path, then query).
#[derive(Debug, Clone)]
pub struct Rule {
    pub method: &'static str,
    pub target_prefix: String,
    pub fault: Fault,
    /// How many matching requests get the fault; `None`: every one.
    pub times: Option<usize>,
}

#[derive(Default)]
struct Shared {
    rules: Vec<Rule>,
    /// Random faults: xorshift state and the chance per request, in thousandths.
    chaos: Option<(u64, u32)>,
    /// `METHOD target` of every request seen, in order, and whether it was faulted.
    seen: Vec<(String, bool)>,
}

/// The running proxy; stops (and lets stalled requests go) when dropped.
pub struct FaultProxy {
    pub endpoint: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:port`).
    pub fn start(upstream: &str) -> Self {
        Self::routed(upstream, upstream)
    }

    /// Starts a proxy that sends CloudFront's API (`/2020-05-31/…`) to `cdn` and
    /// everything else to `s3`: two emulators behind one endpoint, e.g. an S3 that
    /// enforces IAM beside a CloudFront that moto cannot authenticate.
    pub fn routed(s3: &str, cdn: &str) -> Self {
        let host = |url: &str| {
            url.trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned()
        };
        let upstream = (host(s3), host(cdn));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_shared, accept_stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (shared, stop, upstream) =
                    (accept_shared.clone(), accept_stop.clone(), upstream.clone());
                let upstream = (upstream.0, upstream.1);
                std::thread::spawn(move || {
                    let _ = serve(client, (&upstream.0, &upstream.1), &shared, &stop);
                });
            }
        });
        Self {
            endpoint,
            shared,
            stop,
        }
    }

    /// From now on, a seeded `per_mille`/1000 of the requests no rule matches get a
    /// random fault: dropped, 503 SlowDown, 500, delayed, or cut short.
    pub fn chaos(&self, seed: u64, per_mille: u32) {
        self.shared.lock().expect("proxy lock").chaos = Some((seed.max(1), per_mille));
    }

    pub fn add(&self, rule: Rule) {
        self.shared.lock().expect("proxy lock").rules.push(rule);
    }

    /// Every `method` request whose target starts with `target` gets S3's 500
    /// InternalError, however often it is retried.
    pub fn always_500(&self, method: &'static str, target: String) {
        self.add(Rule {
            method,
            target_prefix: target,
            fault: Fault::Answer {
                status: 500,
                body: "<Error><Code>InternalError</Code><Message>injected</Message></Error>"
                    .to_owned(),
            },
            times: None,
        });
    }

    /// `METHOD target` of the requests that got a fault.
    pub fn faulted(&self) -> Vec<String> {
        let shared = self.shared.lock().expect("proxy lock");
        shared
            .seen
            .iter()
            .filter(|(_, faulted)| *faulted)
            .map(|(line, _)| line.clone())
            .collect()
    }

    /// `METHOD target` of every request, in arrival order.
    pub fn seen(&self) -> Vec<String> {
        let shared = self.shared.lock().expect("proxy lock");
        shared.seen.iter().map(|(line, _)| line.clone()).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
    }
}

fn serve(
    client: TcpStream,
    (s3, cdn): (&str, &str),
    shared: &Mutex<Shared>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let request_line = head[0].trim_end().to_owned();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let length: usize = head
        .iter()
        .find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let upstream = if target.starts_with("/2020-05-31/") {
        cdn
    } else {
        s3
    };

    let fault = {
        let mut shared = shared.lock().expect("proxy lock");
        let fault = shared.rules.iter_mut().find_map(|rule| {
            let matches = rule.method == method
                && target.starts_with(&rule.target_prefix)
                && rule.times != Some(0);
            if !matches {
                return None;
            }
            if let Some(n) = rule.times.as_mut() {
                *n -= 1;
            }
            Some(rule.fault.clone())
        });
        let fault = fault.or_else(|| {
            let (state, per_mille) = shared.chaos.as_mut()?;
            let mut next = || {
                *state ^= *state << 13;
                *state ^= *state >> 7;
                *state ^= *state << 17;
                *state
            };
            if next() % 1000 >= u64::from(*per_mille) {
                return None;
            }
            Some(match next() % 5 {
                0 => Fault::Drop,
                1 => Fault::Answer {
                    status: 503,
                    body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_owned(),
                },
                2 => Fault::Answer {
                    status: 500,
                    body: "<Error><Code>InternalError</Code><Message>injected</Message></Error>".to_owned(),
                },
                3 => Fault::Delay(Duration::from_millis(300)),
                _ => Fault::Truncate,
            })
        });
        shared
            .seen
            .push((format!("{method} {target}"), fault.is_some()));
        fault
    };
    let mut client = client;
    match fault {
        Some(Fault::Stall) => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            client.shutdown(Shutdown::Both)
        }
        Some(Fault::Answer { status, body }) => {
            let answer = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(answer.as_bytes())?;
            client.shutdown(Shutdown::Both)
        }
        Some(Fault::Before(action)) => {
            action();
            pass_on(&head, &body, upstream, &mut client)
        }
        Some(Fault::Drop) => client.shutdown(Shutdown::Both),
        Some(Fault::Delay(wait)) => {
            std::thread::sleep(wait);
            pass_on(&head, &body, upstream, &mut client)
        }
        Some(Fault::Truncate) => {
            let mut answer: Vec<u8> = Vec::new();
            let _ = pass_on_into(&head, &body, upstream, &mut answer);
            let cut = (answer.len() / 2).max(1).min(answer.len());
            client.write_all(&answer[..cut])?;
            client.shutdown(Shutdown::Both)
        }
        Some(Fault::StripConditions) => {
            let head: Vec<String> = head
                .into_iter()
                .filter(|line| {
                    let name = line.split(':').next().unwrap_or_default();
                    !name.eq_ignore_ascii_case("if-none-match")
                        && !name.eq_ignore_ascii_case("if-match")
                })
                .collect();
            pass_on(&head, &body, upstream, &mut client)
        }
        None => pass_on(&head, &body, upstream, &mut client),
    }
}

/// Sends the request to moto and its answer back.
fn pass_on(
    head: &[String],
    body: &[u8],
    upstream: &str,
    client: &mut TcpStream,
) -> std::io::Result<()> {
    pass_on_into(head, body, upstream, client)?;
    client.shutdown(Shutdown::Both)
}

/// Sends the request to moto and writes its answer to `client`.
fn pass_on_into(
    head: &[String],
    body: &[u8],
    upstream: &str,
    client: &mut dyn Write,
) -> std::io::Result<()> {
    let mut up = TcpStream::connect(upstream)?;
    for line in head {
        let name = line.split(':').next().unwrap_or_default();
        if name.eq_ignore_ascii_case("connection") {
            continue;
        }
        if line == "\r\n" {
            up.write_all(b"Connection: close\r\n")?;
        }
        up.write_all(line.as_bytes())?;
    }
    up.write_all(body)?;
    forward_answer(up, client)
}

/// Copies moto's answer to the client, its head marked `Connection: close`.
fn forward_answer(up: TcpStream, client: &mut dyn Write) -> std::io::Result<()> {
    let mut reader = BufReader::new(up);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let name = line.split(':').next().unwrap_or_default();
        if name.eq_ignore_ascii_case("connection") {
            continue;
        }
        if line == "\r\n" {
            client.write_all(b"Connection: close\r\n\r\n")?;
            break;
        }
        client.write_all(line.as_bytes())?;
    }
    std::io::copy(&mut reader, client)?;
    Ok(())
}
