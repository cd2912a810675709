//! The volume-driver endpoints: what each answers, volumes being folders under `root`.

use serde_json::{json, Value};
use std::path::PathBuf;

pub struct Volumes {
    pub root: PathBuf,
}

impl Volumes {
    /// The folder of volume `name`; None for a name that is not one path part.
    fn dir(&self, name: &str) -> Option<PathBuf> {
        let ok = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0']);
        ok.then(|| self.root.join(name))
    }

    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(&self.root)
            .map(|r| {
                r.flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        n.sort();
        n
    }
}

fn err(e: impl std::fmt::Display) -> Value {
    json!({ "Err": e.to_string() })
}

/// The answer to a POST of `body` to `path`; None for an endpoint we do not serve.
pub fn handle(v: &Volumes, path: &str, body: &[u8]) -> Option<Value> {
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let name = req["Name"].as_str().unwrap_or("");
    let volume = || {
        v.dir(name)
            .ok_or_else(|| format!("bad volume name '{name}'"))
    };
    Some(match path {
        "/Plugin.Activate" => json!({ "Implements": ["VolumeDriver"] }),
        "/VolumeDriver.Capabilities" => json!({ "Capabilities": { "Scope": "global" } }),
        "/VolumeDriver.Create" => match volume() {
            Ok(d) => match std::fs::create_dir_all(&d) {
                Ok(()) => json!({ "Err": "" }),
                Err(e) => err(format!("{}: {e}", d.display())),
            },
            Err(e) => err(e),
        },
        "/VolumeDriver.Remove" => match volume() {
            Ok(d) if d.is_dir() => match std::fs::remove_dir_all(&d) {
                Ok(()) => json!({ "Err": "" }),
                Err(e) => err(format!("{}: {e}", d.display())),
            },
            Ok(_) => err(format!("no volume '{name}'")),
            Err(e) => err(e),
        },
        "/VolumeDriver.Mount" | "/VolumeDriver.Path" => match volume() {
            Ok(d) if d.is_dir() => json!({ "Mountpoint": d, "Err": "" }),
            Ok(_) => err(format!("no volume '{name}'")),
            Err(e) => err(e),
        },
        "/VolumeDriver.Unmount" => json!({ "Err": "" }),
        "/VolumeDriver.Get" => match volume() {
            Ok(d) if d.is_dir() => json!({
                "Volume": { "Name": name, "Mountpoint": d, "Status": {} },
                "Err": ""
            }),
            Ok(_) => err(format!("no volume '{name}'")),
            Err(e) => err(e),
        },
        "/VolumeDriver.List" => {
            let vols: Vec<Value> = v
                .names()
                .into_iter()
                .map(|n| json!({ "Name": n, "Mountpoint": v.root.join(&n) }))
                .collect();
            json!({ "Volumes": vols, "Err": "" })
        }
        _ => return None,
    })
}
