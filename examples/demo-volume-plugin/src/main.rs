//! The demo image's stand-in for vSphere Docker Volume Service: a Docker volume plugin
//! (`docker.volumedriver/1.0`) whose volumes are folders under the plugin's propagated
//! mount. It answers Docker's plugin protocol (HTTP/1.1 with JSON bodies) on the socket
//! its config.json names, so `docker plugin create/enable` and `docker volume create -d`
//! work in the demo image. It is NOT the vDVS plugin: no VMDKs, no ESXi.
//!
//! Built static (`-C target-feature=+crt-static`): the plugin's rootfs holds this binary
//! and nothing else. `--config FILE` (vDVS's flag) is accepted and ignored.
//! `DEMO_PLUGIN_SOCKET` and `DEMO_PLUGIN_ROOT` move the socket and the volumes (tests).
#![forbid(unsafe_code)]

mod api;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

fn main() {
    let socket = std::env::var_os("DEMO_PLUGIN_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/docker/plugins/vsphere.sock"));
    let root = std::env::var_os("DEMO_PLUGIN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/mnt/vmdk"));
    if let Some(dir) = socket.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::remove_file(&socket);
    let listener = match UnixListener::bind(&socket) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-volume-plugin: {}: {e}", socket.display());
            std::process::exit(1);
        }
    };
    eprintln!(
        "demo-volume-plugin: serving {} (volumes in {})",
        socket.display(),
        root.display()
    );
    for conn in listener.incoming().flatten() {
        let root = root.clone();
        std::thread::spawn(move || serve(conn, &api::Volumes { root }));
    }
}

/// Answers the requests of one connection (Docker keeps connections alive).
fn serve(conn: UnixStream, v: &api::Volumes) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, val)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = val.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len.min(1 << 20)];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let (status, reply) = match api::handle(v, &path, &body) {
            Some(reply) => ("200 OK", reply.to_string()),
            None => ("404 Not Found", r#"{"Err":"unknown endpoint"}"#.to_string()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/vnd.docker.plugins.v1+json\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}
