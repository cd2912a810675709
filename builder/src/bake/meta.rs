//! The blocks of an ext2/3/4 filesystem that are not file contents: the superblock and
//! group descriptors, the bitmaps and inode tables in use, directories, slow symlinks,
//! the journal, quota and orphan files, extended-attribute blocks, and the extent-tree
//! and indirect blocks of every file. It is the set `e2image -r` keeps (the tests compare
//! the two, byte for byte), read from any [`DiskSource`], so the bake can work on a copy
//! of these alone while the files' contents stay in the base.

use ova::DiskSource;

/// Why a filesystem's metadata cannot be told apart here (the caller copies it whole).
#[derive(Debug, thiserror::Error)]
pub enum Unfit {
    #[error("no ext2/3/4 superblock")]
    NotExt,
    #[error("ext4 feature {0} (0x{1:x}) is not handled")]
    Feature(&'static str, u32),
    #[error("{0}")]
    Damaged(String),
    #[error(transparent)]
    Read(#[from] ova::Error),
}

type Result<T> = std::result::Result<T, Unfit>;

/// The metadata blocks of one filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub block_size: u64,
    pub blocks: u64,
    /// Sorted, merged runs of blocks: (first block, count).
    pub runs: Vec<(u64, u64)>,
}

impl Metadata {
    pub fn bytes(&self) -> u64 {
        self.runs.iter().map(|r| r.1).sum::<u64>() * self.block_size
    }
}

const INCOMPAT_OK: &[(u32, &str)] = &[
    (0x2, "filetype"),
    (0x40, "extent"),
    (0x80, "64bit"),
    (0x100, "mmp"),
    (0x200, "flex_bg"),
    (0x2000, "metadata_csum_seed"),
    (0x4000, "large_dir"),
    (0x8000, "inline_data"),
];
const RO_COMPAT_OK: u32 = 0x1 | 0x2 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x400 | 0x2000 | 0x10000;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_MMP: u32 = 0x100;
const RO_COMPAT_CSUM: u32 = 0x10 | 0x400;
const BG_INODE_UNINIT: u16 = 0x1;
const BG_BLOCK_UNINIT: u16 = 0x2;
const EXTENTS_FL: u32 = 0x80000;
const INLINE_DATA_FL: u32 = 0x1000_0000;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The superblock fields the walk needs.
struct Super {
    block_size: u64,
    blocks: u64,
    first_data_block: u64,
    blocks_per_group: u64,
    inodes_per_group: u64,
    inode_size: usize,
    desc_size: usize,
    incompat: u32,
    ro_compat: u32,
    journal_inum: u32,
    prj_quota_inum: u32,
    orphan_file_inum: u32,
    mmp_block: u64,
}

impl Super {
    fn parse(s: &[u8]) -> Result<Self> {
        if u16_at(s, 0x38) != 0xEF53 {
            return Err(Unfit::NotExt);
        }
        let (incompat, ro_compat) = (u32_at(s, 0x60), u32_at(s, 0x64));
        let known: u32 = INCOMPAT_OK.iter().map(|f| f.0).sum();
        if let Some(bit) = (0..32)
            .map(|i| 1u32 << i)
            .find(|b| incompat & b & !known != 0)
        {
            return Err(Unfit::Feature(incompat_name(bit), bit));
        }
        if let Some(bit) = (0..32)
            .map(|i| 1u32 << i)
            .find(|b| ro_compat & b & !RO_COMPAT_OK != 0)
        {
            return Err(Unfit::Feature(ro_compat_name(bit), bit));
        }
        let log = u32_at(s, 0x18);
        if log > 6 {
            return Err(Unfit::Damaged(format!("block size 1024<<{log}")));
        }
        let dynamic = u32_at(s, 0x4C) >= 1;
        let big = incompat & INCOMPAT_64BIT != 0;
        let sb = Super {
            block_size: 1024 << log,
            blocks: u64::from(u32_at(s, 0x4))
                | if big {
                    u64::from(u32_at(s, 0x150)) << 32
                } else {
                    0
                },
            first_data_block: u64::from(u32_at(s, 0x14)),
            blocks_per_group: u64::from(u32_at(s, 0x20)),
            inodes_per_group: u64::from(u32_at(s, 0x28)),
            inode_size: if dynamic {
                usize::from(u16_at(s, 0x58))
            } else {
                128
            },
            desc_size: if big {
                usize::from(u16_at(s, 0xFE))
            } else {
                32
            },
            incompat,
            ro_compat,
            journal_inum: u32_at(s, 0xE0),
            prj_quota_inum: u32_at(s, 0x26C),
            orphan_file_inum: u32_at(s, 0x280),
            mmp_block: u64::from(u32_at(s, 0x168)) | u64::from(u32_at(s, 0x16C)) << 32,
        };
        let sane = sb.blocks_per_group > 0
            && sb.inodes_per_group > 0
            && sb.inode_size >= 128
            && sb.inode_size.is_power_of_two()
            && (sb.inode_size as u64) <= sb.block_size
            && sb.desc_size >= 32
            && sb.desc_size.is_power_of_two()
            && (sb.desc_size as u64) <= sb.block_size
            && sb.first_data_block < sb.blocks;
        if !sane {
            return Err(Unfit::Damaged(
                "the superblock's geometry is inconsistent".into(),
            ));
        }
        Ok(sb)
    }

    fn csum(&self) -> bool {
        self.ro_compat & RO_COMPAT_CSUM != 0
    }

    fn groups(&self) -> u64 {
        (self.blocks - self.first_data_block).div_ceil(self.blocks_per_group)
    }

    /// Blocks the group descriptor table takes (right after the superblock).
    fn desc_blocks(&self) -> u64 {
        self.groups()
            .div_ceil(self.block_size / self.desc_size as u64)
    }

    fn inodes_per_block(&self) -> u64 {
        self.block_size / self.inode_size as u64
    }

    fn itable_blocks(&self) -> u64 {
        self.inodes_per_group.div_ceil(self.inodes_per_block())
    }
}

fn incompat_name(bit: u32) -> &'static str {
    match bit {
        0x1 => "compression",
        0x4 => "needs_recovery",
        0x8 => "journal_dev",
        0x10 => "meta_bg",
        0x400 => "ea_inode",
        0x1000 => "dirdata",
        0x10000 => "encrypt",
        0x20000 => "casefold",
        _ => "unknown incompat",
    }
}

fn ro_compat_name(bit: u32) -> &'static str {
    match bit {
        0x80 => "snapshot",
        0x200 => "bigalloc",
        0x800 => "replica",
        0x1000 => "read-only",
        0x4000 => "shared_blocks",
        0x8000 => "verity",
        _ => "unknown ro_compat",
    }
}

/// One group descriptor's fields the walk needs.
struct Group {
    block_bitmap: u64,
    inode_bitmap: u64,
    inode_table: u64,
    flags: u16,
    itable_unused: u64,
}

impl Group {
    fn parse(d: &[u8], big: bool) -> Self {
        let hi = |at: usize| {
            if big {
                u64::from(u32_at(d, at)) << 32
            } else {
                0
            }
        };
        let hi16 = |at: usize| {
            if big {
                u64::from(u16_at(d, at)) << 16
            } else {
                0
            }
        };
        Group {
            block_bitmap: u64::from(u32_at(d, 0)) | hi(0x20),
            inode_bitmap: u64::from(u32_at(d, 4)) | hi(0x24),
            inode_table: u64::from(u32_at(d, 8)) | hi(0x28),
            flags: u16_at(d, 0x12),
            itable_unused: u64::from(u16_at(d, 0x1C)) | hi16(0x32),
        }
    }
}

/// Reads whole blocks of the filesystem at `offset` of a disk.
struct Fs<'a> {
    src: &'a dyn DiskSource,
    offset: u64,
    sb: Super,
    marked: Vec<(u64, u64)>,
    /// Mapping blocks (extent nodes, indirect blocks) still allowed to be read: each is
    /// referenced once in a sound filesystem, so more reads than blocks means a loop.
    budget: u64,
}

impl Fs<'_> {
    fn read(&self, block: u64, count: u64) -> Result<Vec<u8>> {
        if block
            .checked_add(count)
            .is_none_or(|end| end > self.sb.blocks)
        {
            return Err(Unfit::Damaged(format!(
                "block {block} (+{count}) lies past the filesystem's end ({} blocks)",
                self.sb.blocks
            )));
        }
        let mut buf = vec![0u8; (count * self.sb.block_size) as usize];
        self.src
            .read_at(&mut buf, self.offset + block * self.sb.block_size)?;
        Ok(buf)
    }

    /// Reads one mapping block, within the budget.
    fn read_mapping(&mut self, block: u64) -> Result<Vec<u8>> {
        self.budget = self.budget.checked_sub(1).ok_or_else(|| {
            Unfit::Damaged("the files' mapping blocks refer to each other in a loop".into())
        })?;
        self.read(block, 1)
    }

    fn mark(&mut self, block: u64, count: u64) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        if block
            .checked_add(count)
            .is_none_or(|end| end > self.sb.blocks)
        {
            return Err(Unfit::Damaged(format!(
                "metadata block {block} (+{count}) lies past the filesystem's end"
            )));
        }
        match self.marked.last_mut() {
            Some(last) if last.0 + last.1 == block => last.1 += count,
            _ => self.marked.push((block, count)),
        }
        Ok(())
    }

    fn groups(&self) -> Result<Vec<Group>> {
        let n = self.sb.groups();
        let table = self.read(self.sb.first_data_block + 1, self.sb.desc_blocks())?;
        let big = self.sb.incompat & INCOMPAT_64BIT != 0;
        Ok(table
            .chunks_exact(self.sb.desc_size)
            .take(n as usize)
            .map(|d| Group::parse(d, big))
            .collect())
    }
}

/// What to keep of an inode's blocks.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    /// Every block (directories, symlinks, the journal...).
    All,
    /// Only the mapping blocks (extent-tree nodes, indirect blocks).
    Mapping,
}

/// The metadata blocks of the ext2/3/4 filesystem at `offset` of `src`.
pub fn metadata(src: &dyn DiskSource, offset: u64) -> Result<Metadata> {
    let mut s = vec![0u8; 1024];
    if offset + 2048 > src.size() {
        return Err(Unfit::NotExt);
    }
    src.read_at(&mut s, offset + 1024)?;
    let sb = Super::parse(&s)?;
    if sb
        .blocks
        .checked_mul(sb.block_size)
        .is_none_or(|bytes| bytes > src.size() - offset)
    {
        return Err(Unfit::Damaged(format!(
            "the filesystem ({} blocks of {}) is larger than the disk holding it",
            sb.blocks, sb.block_size
        )));
    }
    let mut fs = Fs {
        src,
        offset,
        budget: sb.blocks,
        sb,
        marked: Vec::new(),
    };
    let groups = fs.groups()?;
    tables(&mut fs, &groups)?;
    inodes(&mut fs, &groups)?;
    let mut runs = std::mem::take(&mut fs.marked);
    runs.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(runs.len());
    for (b, n) in runs {
        match merged.last_mut() {
            Some(last) if b <= last.0 + last.1 => last.1 = last.1.max(b + n - last.0),
            _ => merged.push((b, n)),
        }
    }
    Ok(Metadata {
        block_size: fs.sb.block_size,
        blocks: fs.sb.blocks,
        runs: merged,
    })
}

/// The superblock, the descriptors, the MMP block and each group's bitmaps and inode
/// table in use (not those of uninitialised groups, nor the never-used end of a table).
fn tables(fs: &mut Fs, groups: &[Group]) -> Result<()> {
    let first = fs.sb.first_data_block;
    fs.mark(first, 1)?;
    fs.mark(first + 1, fs.sb.desc_blocks())?;
    if fs.sb.incompat & INCOMPAT_MMP != 0 {
        fs.mark(fs.sb.mmp_block, 1)?;
    }
    for g in groups {
        if g.flags & BG_INODE_UNINIT == 0 && g.inode_table != 0 {
            let mut n = fs.sb.itable_blocks();
            if fs.sb.csum() {
                n = n.saturating_sub(g.itable_unused / fs.sb.inodes_per_block());
            }
            fs.mark(g.inode_table, n)?;
        }
        if g.flags & BG_BLOCK_UNINIT == 0 && g.block_bitmap != 0 {
            fs.mark(g.block_bitmap, 1)?;
        }
        if g.flags & BG_INODE_UNINIT == 0 && g.inode_bitmap != 0 {
            fs.mark(g.inode_bitmap, 1)?;
        }
    }
    Ok(())
}

/// Every inode in use, as e2fsprogs scans them: each group's table up to its unused
/// end (with group checksums), uninitialised groups skipped.
fn inodes(fs: &mut Fs, groups: &[Group]) -> Result<()> {
    let isize = fs.sb.inode_size;
    let full_walk = [
        fs.sb.journal_inum,
        3, // user quota
        4, // group quota
        fs.sb.prj_quota_inum,
        fs.sb.orphan_file_inum,
    ];
    for (gi, g) in groups.iter().enumerate() {
        if fs.sb.csum() && g.flags & BG_INODE_UNINIT != 0 {
            continue;
        }
        let mut count = fs.sb.inodes_per_group;
        if fs.sb.csum() {
            count = count.saturating_sub(g.itable_unused);
        }
        let blocks = count.div_ceil(fs.sb.inodes_per_block());
        // Read a table in slices of at most 256 blocks: memory stays small.
        let mut at = 0;
        while at < blocks {
            let n = (blocks - at).min(256);
            let table = fs.read(g.inode_table + at, n)?;
            for (i, raw) in table.chunks_exact(isize).enumerate() {
                let index = at * fs.sb.inodes_per_block() + i as u64;
                if index >= count {
                    break;
                }
                let ino = gi as u64 * fs.sb.inodes_per_group + index + 1;
                let keep = if full_walk.contains(&(ino as u32)) {
                    Keep::All
                } else {
                    Keep::Mapping
                };
                inode(fs, raw, keep)?;
            }
            at += n;
        }
    }
    Ok(())
}

/// The blocks one inode holds that belong to the metadata.
fn inode(fs: &mut Fs, raw: &[u8], keep: Keep) -> Result<()> {
    if u16_at(raw, 0x1A) == 0 {
        return Ok(()); // not in use (no links)
    }
    let mode = u16_at(raw, 0) & 0xF000;
    let big = fs.sb.incompat & INCOMPAT_64BIT != 0;
    let acl = u64::from(u32_at(raw, 0x68))
        | if big {
            u64::from(u16_at(raw, 0x76)) << 32
        } else {
            0
        };
    if acl != 0 {
        fs.mark(acl, 1)?;
    }
    let (is_dir, is_reg, is_lnk) = (mode == 0x4000, mode == 0x8000, mode == 0xA000);
    if !(is_dir || is_reg || is_lnk) {
        return Ok(());
    }
    let flags = u32_at(raw, 0x20);
    let size = u64::from(u32_at(raw, 4)) | u64::from(u32_at(raw, 0x6C)) << 32;
    let i_block = &raw[0x28..0x28 + 60];
    if is_lnk {
        // libext2fs' test for a fast symlink (its target inside i_block).
        let valid = if acl == 0 {
            u32_at(raw, 0x1C) != 0 && size >= 60
        } else {
            size >= 60 || (size > 4 && u32_at(i_block, 4) == 0)
        };
        if !valid {
            return Ok(());
        }
    }
    if flags & INLINE_DATA_FL != 0 {
        return Ok(());
    }
    let keep = if is_dir || is_lnk { Keep::All } else { keep };
    if flags & EXTENTS_FL != 0 {
        extent_node(fs, i_block, keep, None)
    } else {
        block_map(fs, i_block, keep)
    }
}

/// An extent-tree node (the root inside the inode, or a block of its own).
fn extent_node(fs: &mut Fs, node: &[u8], keep: Keep, depth_above: Option<u16>) -> Result<()> {
    let bad = |what: &str| Unfit::Damaged(format!("extent tree: {what}"));
    if u16_at(node, 0) != 0xF30A {
        return Err(bad("bad magic"));
    }
    let (entries, depth) = (usize::from(u16_at(node, 2)), u16_at(node, 6));
    if depth_above.is_some_and(|d| depth + 1 != d) || depth > 5 {
        return Err(bad("inconsistent depth"));
    }
    if 12 + entries * 12 > node.len() {
        return Err(bad("more entries than the node holds"));
    }
    for e in node[12..12 + entries * 12].chunks_exact(12) {
        if depth == 0 {
            if keep == Keep::All {
                let len = match u16_at(e, 4) {
                    l if l > 32768 => l - 32768, // an unwritten extent
                    l => l,
                };
                let start = u64::from(u32_at(e, 8)) | u64::from(u16_at(e, 6)) << 32;
                fs.mark(start, u64::from(len))?;
            }
        } else {
            let child = u64::from(u32_at(e, 4)) | u64::from(u16_at(e, 8)) << 32;
            fs.mark(child, 1)?;
            let block = fs.read_mapping(child)?;
            extent_node(fs, &block, keep, Some(depth))?;
        }
    }
    Ok(())
}

/// The classic block map: 12 direct blocks, then single, double and triple indirect.
fn block_map(fs: &mut Fs, i_block: &[u8], keep: Keep) -> Result<()> {
    for k in 0..15 {
        let b = u64::from(u32_at(i_block, k * 4));
        if b == 0 {
            continue;
        }
        match k {
            0..=11 if keep == Keep::All => fs.mark(b, 1)?,
            0..=11 => {}
            _ => indirect(fs, b, k - 11, keep)?,
        }
    }
    Ok(())
}

/// An indirect block of `level` (1 single, 2 double, 3 triple): kept, and followed.
fn indirect(fs: &mut Fs, block: u64, level: usize, keep: Keep) -> Result<()> {
    fs.mark(block, 1)?;
    let table = fs.read_mapping(block)?;
    for p in table.chunks_exact(4) {
        let b = u64::from(u32_at(p, 0));
        if b == 0 {
            continue;
        }
        if level > 1 {
            indirect(fs, b, level - 1, keep)?;
        } else if keep == Keep::All {
            fs.mark(b, 1)?;
        }
    }
    Ok(())
}
