//! GUID partition tables: read (to find a Photon image's root filesystem), write (for
//! the demo base) and grow (move the backup table to the end of a larger disk and let
//! the last partition take the new space). 512-byte sectors, as VMDKs have.

use crate::source::DiskSource;
use crate::{format_err, Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;

pub const SECTOR: u64 = 512;
const SIGNATURE: &[u8; 8] = b"EFI PART";
const ENTRY_SIZE: usize = 128;
const ENTRIES: usize = 128;
/// Sectors the 128-entry array takes.
const ARRAY_SECTORS: u64 = (ENTRIES * ENTRY_SIZE) as u64 / SECTOR;

/// Partition type GUIDs (text form) this tool cares about.
pub const LINUX_DATA: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
pub const LINUX_ROOT_X86_64: &str = "4F68BCE8-E8CD-4DB1-96E7-FBCAF984B709";
pub const LINUX_ROOT_AARCH64: &str = "B921B045-1DF0-41C3-AF44-4C6F280D3FAE";
pub const EFI_SYSTEM: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
pub const BIOS_BOOT: &str = "21686148-6449-6E6F-744E-656564454649";
pub const LINUX_LVM: &str = "E6D6D379-F507-44C2-A23C-238F2A3DF928";
pub const LINUX_SWAP: &str = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Partition {
    /// 1-based, as Linux numbers them (sda1 ...).
    pub number: u32,
    pub type_guid: String,
    pub guid: String,
    pub name: String,
    pub first_lba: u64,
    /// Inclusive.
    pub last_lba: u64,
}

impl Partition {
    /// What the type GUID says, for people (`Linux LVM`), else the GUID itself.
    pub fn kind(&self) -> &str {
        match self.type_guid.as_str() {
            LINUX_DATA => "Linux filesystem",
            LINUX_ROOT_X86_64 | LINUX_ROOT_AARCH64 => "Linux root",
            EFI_SYSTEM => "EFI system",
            BIOS_BOOT => "BIOS boot",
            LINUX_LVM => "Linux LVM",
            LINUX_SWAP => "Linux swap",
            other => other,
        }
    }

    /// `2 (Linux LVM)`, or `2 "root" (Linux filesystem)` when it has a name.
    pub fn describe(&self) -> String {
        match self.name.trim() {
            "" => format!("{} ({})", self.number, self.kind()),
            n => format!("{} \"{n}\" ({})", self.number, self.kind()),
        }
    }

    pub fn offset(&self) -> u64 {
        self.first_lba * SECTOR
    }

    pub fn len(&self) -> u64 {
        (self.last_lba + 1 - self.first_lba) * SECTOR
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Linux data or a discoverable root type: may hold the root filesystem.
    pub fn may_be_root(&self) -> bool {
        [LINUX_DATA, LINUX_ROOT_X86_64, LINUX_ROOT_AARCH64].contains(&self.type_guid.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub disk_guid: String,
    pub first_usable: u64,
    pub last_usable: u64,
    pub partitions: Vec<Partition>,
}

/// `AF3DC60F...` on disk -> `0FC63DAF-8483-...` (the first three fields are little-endian).
pub fn guid_text(b: &[u8]) -> String {
    format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        hex::encode_upper(&b[10..16])
    )
}

pub fn guid_bytes(text: &str) -> Result<[u8; 16]> {
    let h = hex::decode(text.replace('-', ""))
        .ok()
        .filter(|h| h.len() == 16 && text.len() == 36)
        .ok_or_else(|| Error::Invalid(format!("'{text}' is not a GUID")))?;
    let mut b = [0u8; 16];
    b.copy_from_slice(&h);
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Ok(b)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads the primary GPT; `Ok(None)` when the disk has none (no `EFI PART` at LBA 1).
pub fn read(disk: &dyn DiskSource) -> Result<Option<Table>> {
    if disk.size() < 3 * SECTOR {
        return Ok(None);
    }
    let mut h = [0u8; SECTOR as usize];
    disk.read_at(&mut h, SECTOR)?;
    if &h[..8] != SIGNATURE {
        return Ok(None);
    }
    let size = u32_at(&h, 12) as usize;
    if !(92..=SECTOR as usize).contains(&size) {
        return Err(format_err!("GPT header size {size} is not valid"));
    }
    let mut check = h[..size].to_vec();
    check[16..20].fill(0);
    if crc32fast::hash(&check) != u32_at(&h, 16) {
        return Err(format_err!(
            "the GPT header checksum does not match: the partition table is damaged"
        ));
    }
    let (array_lba, count, esize) = (u64_at(&h, 72), u32_at(&h, 80) as usize, u32_at(&h, 84));
    if esize as usize != ENTRY_SIZE || count == 0 || count > 1024 {
        return Err(Error::Unsupported(format!(
            "GPT with {count} entries of {esize} bytes is not read (128 x 128 expected)"
        )));
    }
    let mut array = vec![0u8; count * ENTRY_SIZE];
    let array_at = array_lba
        .checked_mul(SECTOR)
        .filter(|at| {
            at.checked_add(array.len() as u64)
                .is_some_and(|end| end <= disk.size())
        })
        .ok_or_else(|| format_err!("the GPT entry array lies past the end of the disk"))?;
    disk.read_at(&mut array, array_at)?;
    if crc32fast::hash(&array) != u32_at(&h, 88) {
        return Err(format_err!(
            "the GPT entry array checksum does not match: the partition table is damaged"
        ));
    }
    let sectors = disk.size() / SECTOR;
    let mut partitions = Vec::new();
    for (i, e) in array.chunks(ENTRY_SIZE).enumerate() {
        if e[..16].iter().all(|&b| b == 0) {
            continue;
        }
        let (first, last) = (u64_at(e, 32), u64_at(e, 40));
        if first > last || last >= sectors {
            return Err(format_err!(
                "GPT partition {} spans sectors {first}..{last}, outside the {sectors}-sector disk",
                i + 1
            ));
        }
        let name: Vec<u16> = e[56..128]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&c| c != 0)
            .collect();
        partitions.push(Partition {
            number: i as u32 + 1,
            type_guid: guid_text(&e[..16]),
            guid: guid_text(&e[16..32]),
            name: String::from_utf16_lossy(&name),
            first_lba: first,
            last_lba: last,
        });
    }
    let (first_usable, last_usable) = (u64_at(&h, 40), u64_at(&h, 48));
    if first_usable > last_usable || last_usable >= sectors {
        return Err(format_err!(
            "the GPT's usable sectors {first_usable}..{last_usable} lie outside the {sectors}-sector disk"
        ));
    }
    Ok(Some(Table {
        disk_guid: guid_text(&h[56..72]),
        first_usable,
        last_usable,
        partitions,
    }))
}

fn entry_array(t: &Table) -> Result<Vec<u8>> {
    if t.partitions.len() > ENTRIES {
        return Err(Error::Invalid(format!(
            "{} partitions do not fit a {ENTRIES}-entry GPT",
            t.partitions.len()
        )));
    }
    let mut array = vec![0u8; ENTRIES * ENTRY_SIZE];
    for p in &t.partitions {
        let slot = (p.number as usize)
            .checked_sub(1)
            .filter(|&s| s < ENTRIES)
            .ok_or_else(|| {
                Error::Invalid(format!("partition number {} is out of range", p.number))
            })?;
        let e = &mut array[slot * ENTRY_SIZE..(slot + 1) * ENTRY_SIZE];
        e[..16].copy_from_slice(&guid_bytes(&p.type_guid)?);
        e[16..32].copy_from_slice(&guid_bytes(&p.guid)?);
        e[32..40].copy_from_slice(&p.first_lba.to_le_bytes());
        e[40..48].copy_from_slice(&p.last_lba.to_le_bytes());
        for (i, c) in p.name.encode_utf16().take(36).enumerate() {
            e[56 + 2 * i..58 + 2 * i].copy_from_slice(&c.to_le_bytes());
        }
    }
    Ok(array)
}

fn header(t: &Table, my: u64, alternate: u64, array_lba: u64, array_crc: u32) -> Result<Vec<u8>> {
    let mut h = vec![0u8; SECTOR as usize];
    h[..8].copy_from_slice(SIGNATURE);
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&my.to_le_bytes());
    h[32..40].copy_from_slice(&alternate.to_le_bytes());
    h[40..48].copy_from_slice(&t.first_usable.to_le_bytes());
    h[48..56].copy_from_slice(&t.last_usable.to_le_bytes());
    h[56..72].copy_from_slice(&guid_bytes(&t.disk_guid)?);
    h[72..80].copy_from_slice(&array_lba.to_le_bytes());
    h[80..84].copy_from_slice(&(ENTRIES as u32).to_le_bytes());
    h[84..88].copy_from_slice(&(ENTRY_SIZE as u32).to_le_bytes());
    h[88..92].copy_from_slice(&array_crc.to_le_bytes());
    let crc = crc32fast::hash(&h[..92]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    Ok(h)
}

/// The usable range a 128-entry GPT leaves on a disk of `sectors`.
pub fn usable(sectors: u64) -> (u64, u64) {
    (2 + ARRAY_SECTORS, sectors - 2 - ARRAY_SECTORS)
}

/// Writes a protective MBR, the primary and the backup GPT for `t` onto `disk`, whose
/// length is the disk size. Partitions must lie inside the usable range.
pub fn write(disk: &File, t: &Table) -> Result<()> {
    let sectors = disk.metadata()?.len() / SECTOR;
    if sectors < 2 * (2 + ARRAY_SECTORS) + 1 {
        return Err(Error::Invalid(format!(
            "a {sectors}-sector disk is too small for a GPT"
        )));
    }
    let (first, last) = usable(sectors);
    if t.first_usable < first || t.last_usable > last {
        return Err(Error::Invalid(
            "the GPT's usable range exceeds the disk".into(),
        ));
    }
    if let Some(p) = t.partitions.iter().find(|p| {
        p.first_lba < t.first_usable || p.last_lba > t.last_usable || p.first_lba > p.last_lba
    }) {
        return Err(Error::Invalid(format!(
            "partition {} ({}..{}) lies outside the usable sectors {}..{}",
            p.number, p.first_lba, p.last_lba, t.first_usable, t.last_usable
        )));
    }
    let array = entry_array(t)?;
    let crc = crc32fast::hash(&array);
    let mut mbr = [0u8; SECTOR as usize];
    mbr[446 + 1..446 + 4].copy_from_slice(&[0x00, 0x02, 0x00]);
    mbr[446 + 4] = 0xEE;
    mbr[446 + 5..446 + 8].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
    mbr[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
    let span = u32::try_from(sectors - 1).unwrap_or(u32::MAX);
    mbr[446 + 12..446 + 16].copy_from_slice(&span.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    let last_lba = sectors - 1;
    let backup_array = last_lba - ARRAY_SECTORS;
    disk.write_all_at(&mbr, 0)?;
    disk.write_all_at(&header(t, 1, last_lba, 2, crc)?, SECTOR)?;
    disk.write_all_at(&array, 2 * SECTOR)?;
    disk.write_all_at(&array, backup_array * SECTOR)?;
    disk.write_all_at(
        &header(t, last_lba, 1, backup_array, crc)?,
        last_lba * SECTOR,
    )?;
    Ok(())
}

/// After `disk` has been made longer: rewrites the GPT for the new size (backup at the
/// new end, larger usable range) and extends partition `number` to the new last usable
/// sector when it is the last partition on the disk. Returns the table as written.
pub fn grow(disk: &File, mut t: Table, number: u32) -> Result<Table> {
    let sectors = disk.metadata()?.len() / SECTOR;
    let (_, last) = usable(sectors);
    if last < t.last_usable {
        return Err(Error::Invalid("the disk got smaller, not larger".into()));
    }
    // The old backup table sits inside the new space: clear it so nothing stale remains.
    let old_backup = (t.last_usable + 1) * SECTOR;
    let zeros = vec![0u8; ((ARRAY_SECTORS + 1) * SECTOR) as usize];
    disk.write_all_at(&zeros, old_backup)?;
    let end = t
        .partitions
        .iter()
        .find(|p| p.number == number)
        .ok_or_else(|| Error::Invalid(format!("no partition {number}")))?
        .last_lba;
    if t.partitions
        .iter()
        .any(|p| p.number != number && p.last_lba > end)
    {
        return Err(Error::Unsupported(format!(
            "partition {number} is not the last on the disk, so it cannot take the new space"
        )));
    }
    t.last_usable = last;
    for p in t.partitions.iter_mut().filter(|p| p.number == number) {
        p.last_lba = last;
    }
    write(disk, &t)?;
    Ok(t)
}
