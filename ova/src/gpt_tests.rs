use crate::gpt::*;
use crate::RawDisk;

fn table(sectors: u64) -> Table {
    let (first, last) = usable(sectors);
    Table {
        disk_guid: "11111111-2222-3333-4444-555555555555".into(),
        first_usable: first,
        last_usable: last,
        partitions: vec![
            Partition {
                number: 1,
                type_guid: EFI_SYSTEM.into(),
                guid: "AAAAAAAA-0000-0000-0000-000000000001".into(),
                name: "esp".into(),
                first_lba: 2048,
                last_lba: 4095,
            },
            Partition {
                number: 2,
                type_guid: LINUX_DATA.into(),
                guid: "AAAAAAAA-0000-0000-0000-000000000002".into(),
                name: "root".into(),
                first_lba: 4096,
                last_lba: last,
            },
        ],
    }
}

fn disk(sectors: u64) -> (tempfile::NamedTempFile, std::fs::File) {
    let f = tempfile::NamedTempFile::new().unwrap();
    f.as_file().set_len(sectors * SECTOR).unwrap();
    let file = f.reopen().unwrap();
    (f, file)
}

#[test]
fn guid_text_round_trips_in_mixed_endian() {
    let b = guid_bytes(LINUX_DATA).unwrap();
    assert_eq!(&b[..4], &[0xAF, 0x3D, 0xC6, 0x0F]);
    assert_eq!(guid_text(&b), LINUX_DATA);
    assert!(guid_bytes("0FC63DAF").is_err());
}

#[test]
fn written_table_reads_back_and_grows() {
    let (f, file) = disk(20_000);
    let t = table(20_000);
    write(&file, &t).unwrap();
    let got = read(&RawDisk::open(f.path()).unwrap()).unwrap().unwrap();
    assert_eq!(got, t);
    assert!(got.partitions[1].may_be_root() && !got.partitions[0].may_be_root());
    assert_eq!(got.partitions[1].offset(), 4096 * SECTOR);

    file.set_len(40_000 * SECTOR).unwrap();
    let written = grow(&file, got, 2).unwrap();
    let len = written.partitions[1].len();
    let grown = read(&RawDisk::open(f.path()).unwrap()).unwrap().unwrap();
    assert_eq!(grown, written);
    assert_eq!(grown.last_usable, usable(40_000).1);
    assert_eq!(grown.partitions[1].len(), len);
    assert_eq!(grown.partitions[1].last_lba, usable(40_000).1);
    // The backup header moved to the new last sector.
    let mut b = [0u8; 8];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut b, 39_999 * SECTOR).unwrap();
    assert_eq!(&b, b"EFI PART");
    // Growing a partition that is not the last one is refused.
    file.set_len(50_000 * SECTOR).unwrap();
    let e = grow(&file, grown, 1).unwrap_err().to_string();
    assert!(e.contains("last"), "{e}");
}

#[test]
fn damage_and_absence_are_told_apart() {
    let (f, file) = disk(20_000);
    assert_eq!(read(&RawDisk::open(f.path()).unwrap()).unwrap(), None);
    write(&file, &table(20_000)).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &[0xFF], 2 * SECTOR + 60).unwrap();
    let e = read(&RawDisk::open(f.path()).unwrap()).unwrap_err();
    assert!(e.to_string().contains("entry array checksum"), "{e}");
}
