//! A real HTTP cache on loopback: nginx as a caching reverse proxy in front of one
//! bucket on moto (path-style), so `verify` reads entries back through the kind of
//! layer that serves them in production. Every answer carries `X-Cache` (nginx's
//! `$upstream_cache_status`); an origin's `Age`, like every other header, passes on.

use std::os::unix::fs::MetadataExt as _;

use super::*;

/// How the cache treats the origin's `Cache-Control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Honours it: a `no-cache` entry is never answered from the cache without
    /// asking the origin, an immutable chunk is kept.
    Honest,
    /// Ignores it and keeps every 200 for ten minutes, as a CDN whose cache policy
    /// overrides the origin does: once fetched, an entry is served stale after the
    /// deploy rewrote it. A request with `X-Purge` refreshes its entry (how the tests
    /// apply a CloudFront invalidation to this cache).
    Stale,
}

/// An nginx master process and its workers, all inside one temporary prefix. They
/// die with the test process: a shell wrapper waits on a pipe from us and stops
/// nginx when the pipe closes, even if we never drop.
pub struct Nginx {
    /// The prefix: its configuration, logs and cache.
    pub dir: tempfile::TempDir,
    /// The port its configuration was given.
    pub port: u16,
    child: Child,
    lifeline: Option<ChildStdin>,
}

impl Nginx {
    /// Starts nginx with the `http` block's servers `render(prefix, port)` returns
    /// (one must answer `GET /-/ready` with 204 in plain HTTP on `port`); fails the
    /// test loudly, with nginx's error log, if it cannot.
    pub fn start(render: impl Fn(&Path, u16) -> String) -> Self {
        let nginx = nginx_binary();
        let mut last_error = String::new();
        // NOTE: the port is free when chosen and may be taken before nginx binds it;
        // a few tries make that race harmless.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_loopback_port();
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, whole_config(dir.path(), &render(dir.path(), port)))
                .expect("nginx.conf");
            let error_log = dir.path().join("error.log");
            let mut child = Command::new("sh")
                .arg("-c")
                // NOTE: an asynchronous list reads /dev/null unless told otherwise (POSIX,
                // "Asynchronous Lists"), so the watcher reads our pipe through fd 3.
                .arg("exec 3<&0; \"$0\" -p \"$1\" -c \"$2\" -e \"$3\" -g 'daemon off;' >>\"$3\" 2>&1 3<&- & pid=$!; (cat <&3 >/dev/null; kill $pid 2>/dev/null) & wait $pid")
                .arg(&nginx)
                .arg(dir.path())
                .arg(&conf)
                .arg(&error_log)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot spawn nginx through sh: {e}"));
            let lifeline = child.stdin.take().expect("piped stdin");
            let ready = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if http("GET", &ready, "/-/ready", "").is_ok_and(|(status, _)| status == 204) {
                    return Self {
                        dir,
                        port,
                        child,
                        lifeline: Some(lifeline),
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            drop(lifeline);
            let _ = child.kill();
            let status = child.wait();
            last_error = format!(
                "(nginx's wrapper: {status:?})\n{}",
                std::fs::read_to_string(&error_log).unwrap_or_default()
            );
        }
        panic!(
            "nginx ({}) did not start on 127.0.0.1 (install it with scripts/ensure-nginx). Its error log:\n{last_error}",
            nginx.display()
        );
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Closing the pipe makes the wrapper stop nginx (SIGTERM: the master takes
        // its workers down with it); the wrapper ends when nginx has.
        drop(self.lifeline.take());
        let _ = self.child.wait();
    }
}

/// nginx as a caching reverse proxy in front of one bucket.
pub struct Cache {
    /// Where the bucket's root is served: `http://127.0.0.1:<port>`.
    pub url: String,
    nginx: Nginx,
}

/// One answer through the cache.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

impl Cache {
    /// Starts nginx in front of `bucket` on `moto`.
    pub fn start(moto: &Moto, bucket: &str, behaviour: Behaviour) -> Self {
        let nginx = Nginx::start(|dir, port| config(dir, port, moto, bucket, behaviour));
        Self {
            url: format!("http://127.0.0.1:{}", nginx.port),
            nginx,
        }
    }

    /// GETs `path` (from the bucket's root) through the cache, as a browser would.
    pub fn get(&self, path: &str) -> Fetched {
        fetch(&self.url, path).unwrap_or_else(|e| {
            panic!(
                "GET {}{path} through nginx: {e}. Its error log:\n{}",
                self.url,
                self.error_log()
            )
        })
    }

    pub fn error_log(&self) -> String {
        self.nginx.error_log()
    }

    /// Refreshes the cache's entry for `path` from the origin (an invalidation
    /// reaching this cache; [`Behaviour::Stale`] only).
    pub fn purge(&self, path: &str) -> Fetched {
        fetch_with(&self.url, path, "X-Purge: 1\r\n")
            .unwrap_or_else(|e| panic!("purge {path}: {e}"))
    }
}

/// `nginx` on PATH, else where Debian's package puts it.
fn nginx_binary() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("nginx"))
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("nginx is neither on PATH nor at /usr/sbin/nginx: install it with scripts/ensure-nginx")
        })
}

/// A configuration whose every path is inside the prefix `dir`, around `servers`.
fn whole_config(dir: &Path, servers: &str) -> String {
    // NOTE: a master running as root hands requests to workers running as `nobody`,
    // which cannot enter the (0700, root-owned) temporary prefix to write the cache;
    // as root the workers stay root. Any other user's workers run as that user.
    let user = if dir.metadata().is_ok_and(|m| m.uid() == 0) {
        "user root;"
    } else {
        ""
    };
    let dir = dir.display();
    format!(
        r#"{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
    worker_connections 64;
}}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{servers}
}}
"#
    )
}

fn config(dir: &Path, port: u16, moto: &Moto, bucket: &str, behaviour: Behaviour) -> String {
    let dir = dir.display();
    let policy = match behaviour {
        Behaviour::Honest => "proxy_cache_revalidate on;",
        Behaviour::Stale => {
            "proxy_cache_valid 200 10m;\n            proxy_ignore_headers Cache-Control Expires;\n            proxy_cache_bypass $http_x_purge;"
        }
    };
    let origin = moto.endpoint.trim_start_matches("http://");
    format!(
        r#"    proxy_cache_path {dir}/cache levels=1:2 keys_zone=mfe:1m max_size=64m inactive=10m use_temp_path=off;
    server {{
        listen 127.0.0.1:{port};
        location = /-/ready {{
            return 204;
        }}
        location / {{
            proxy_pass http://{origin}/{bucket}/;
            proxy_cache mfe;
            {policy}
            add_header X-Cache $upstream_cache_status always;
        }}
    }}"#
    )
}

pub fn free_loopback_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// An HTTP/1.0 GET that keeps the answer's headers and bytes.
fn fetch(endpoint: &str, path: &str) -> std::io::Result<Fetched> {
    fetch_with(endpoint, path, "")
}

/// GET with `headers` (each line ending in CRLF).
fn fetch_with(endpoint: &str, path: &str, headers: &str) -> std::io::Result<Fetched> {
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}\r\n"
    )?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut body = Vec::new();
    reader.read_to_end(&mut body)?;
    Ok(Fetched {
        status,
        headers,
        body,
    })
}
