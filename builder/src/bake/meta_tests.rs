//! The metadata walk against e2fsprogs' own: for filesystems made by `mke2fs -d` with
//! the features Photon's and older images use, the blocks [`metadata`] names, copied
//! into an empty image, give the same bytes as `e2image -r` (which copies its metadata
//! set and nothing else).

use super::debugfs::e2fs_tool;
use super::meta::{metadata, Unfit};
use ova::{DiskSource, RawDisk};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(tool: &str, args: &[&str]) {
    let out = Command::new(e2fs_tool(tool))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (e2fsprogs: scripts/install-deps): {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tree with what each kind of metadata comes from: a directory of 600 entries
/// (several blocks, hashed), nested folders, fast and slow symlinks, and a file of 60
/// runs of data between holes (an extent tree below its inode, or indirect blocks).
fn tree(dir: &Path) -> PathBuf {
    let t = dir.join("tree");
    std::fs::create_dir_all(t.join("etc")).unwrap();
    std::fs::create_dir_all(t.join("many")).unwrap();
    std::fs::create_dir_all(t.join("a/b/c/d")).unwrap();
    std::fs::write(t.join("etc/photon-release"), "VMware Photon OS 5.0\n").unwrap();
    for i in 0..600 {
        std::fs::write(
            t.join(format!("many/entry-with-a-long-name-{i:05}")),
            [i as u8],
        )
        .unwrap();
    }
    std::os::unix::fs::symlink("short", t.join("fast")).unwrap();
    std::os::unix::fs::symlink("x/".repeat(60), t.join("slow")).unwrap();
    let mut f = std::fs::File::create(t.join("a/b/c/d/sparse")).unwrap();
    for i in 0..60u64 {
        f.seek(SeekFrom::Start(i * 96 * 1024)).unwrap();
        f.write_all(&[0xA5; 4096]).unwrap();
    }
    t
}

/// An image of `size` made by mke2fs with `options` from [`tree`], with an extended
/// attribute too large for the inode (an xattr block) added by debugfs.
fn image(dir: &Path, name: &str, options: &[&str], size: &str) -> PathBuf {
    let t = tree(&dir.join(name));
    let img = dir.join(format!("{name}.img"));
    let mut args = vec!["-F", "-q"];
    args.extend(options);
    args.extend(["-d", s(&t), s(&img), size]);
    run("mke2fs", &args);
    let value = dir.join(format!("{name}.xattr"));
    std::fs::write(&value, "v".repeat(1500)).unwrap();
    let cmd = format!("ea_set -f {} /etc/photon-release user.big", s(&value));
    run("debugfs", &["-w", "-R", &cmd, s(&img)]);
    img
}

/// The image with only the named blocks copied (zero blocks left out, as e2image does).
fn ours(img: &Path, out: &Path) -> Vec<u8> {
    let src = RawDisk::open(img).unwrap();
    let m = metadata(&src, 0).unwrap();
    let dst = std::fs::File::create(out).unwrap();
    dst.set_len(src.size()).unwrap();
    let mut block = vec![0u8; m.block_size as usize];
    for &(first, count) in &m.runs {
        for b in first..first + count {
            src.read_at(&mut block, b * m.block_size).unwrap();
            dst.write_all_at(&block, b * m.block_size).unwrap();
        }
    }
    std::fs::read(out).unwrap()
}

fn e2image(img: &Path, out: &Path) -> Vec<u8> {
    run("e2image", &["-r", s(img), s(out)]);
    std::fs::read(out).unwrap()
}

/// Same bytes; a longer file may only add zeros.
fn assert_same(a: &[u8], b: &[u8], what: &str) {
    let n = a.len().min(b.len());
    if let Some(at) = (0..n).find(|&i| a[i] != b[i]) {
        panic!(
            "{what}: ours and e2image -r differ first at byte {at} (block {} of 4 KiB)",
            at / 4096
        );
    }
    assert!(
        a[n..].iter().chain(&b[n..]).all(|&x| x == 0),
        "{what}: tails differ"
    );
}

#[test]
fn the_metadata_is_what_e2image_keeps() {
    let d = tempfile::tempdir().unwrap();
    for (name, options) in [
        ("ext4", &["-t", "ext4", "-b", "4096"][..]),
        ("ext4-1k", &["-t", "ext4", "-b", "1024"]),
        (
            "ext4-64bit-csum",
            &["-t", "ext4", "-O", "64bit,metadata_csum"],
        ),
        (
            "ext4-no-flex",
            &["-t", "ext4", "-O", "^flex_bg,^metadata_csum"],
        ),
        (
            "ext4-quota",
            &["-t", "ext4", "-O", "quota,project,orphan_file"],
        ),
        (
            "ext4-inline",
            &["-t", "ext4", "-I", "256", "-O", "inline_data"],
        ),
        ("ext3", &["-t", "ext3", "-b", "4096"]),
        ("ext2-1k", &["-t", "ext2", "-b", "1024"]),
    ] {
        let img = image(d.path(), name, options, "48M");
        let a = ours(&img, &d.path().join(format!("{name}.ours")));
        let b = e2image(&img, &d.path().join(format!("{name}.e2i")));
        assert_same(&a, &b, name);
        // Not vacuous: the file contents are left out.
        let whole = std::fs::read(&img).unwrap();
        let data = |b: &[u8]| {
            b.chunks(1024)
                .filter(|k| k.iter().all(|&x| x == 0xA5))
                .count()
        };
        let (held, kept) = (data(&whole), data(&a));
        assert!(
            held >= 240 && kept == 0,
            "{name}: {held} KiB of data, {kept} KiB kept"
        );
    }
}

#[test]
fn filesystems_it_cannot_read_are_named() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let zeros = dir.join("zeros.img");
    std::fs::File::create(&zeros)
        .unwrap()
        .set_len(4 << 20)
        .unwrap();
    let src = RawDisk::open(&zeros).unwrap();
    assert!(matches!(metadata(&src, 0), Err(Unfit::NotExt)));

    let big = dir.join("bigalloc.img");
    let args = [
        "-F",
        "-q",
        "-t",
        "ext4",
        "-O",
        "bigalloc",
        "-C",
        "65536",
        s(&big),
        "64M",
    ];
    run("mke2fs", &args);
    let err = metadata(&RawDisk::open(&big).unwrap(), 0).unwrap_err();
    assert!(matches!(err, Unfit::Feature("bigalloc", 0x200)), "{err}");

    // An extent-tree node whose magic is gone: damaged, not guessed at.
    let img = image(dir, "broken", &["-t", "ext4", "-b", "4096"], "48M");
    let out = Command::new(e2fs_tool("debugfs"))
        .args(["-R", "ex /a/b/c/d/sparse", s(&img)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // "Level Entries  Logical  Physical Length Flags": the index node of level 0.
    let node: u64 = text
        .lines()
        .find(|l| l.trim_start().starts_with("0/ 1"))
        .and_then(|l| l.split_whitespace().nth(7))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no index node in: {text}"));
    let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    f.write_all_at(&[0, 0], node * 4096).unwrap();
    let err = metadata(&RawDisk::open(&img).unwrap(), 0).unwrap_err();
    assert!(err.to_string().contains("extent tree: bad magic"), "{err}");
}
