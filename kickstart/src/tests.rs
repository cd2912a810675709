use super::*;

const SAMPLE: &str = r#"{
  "hostname": "photon-docker",
  "password": {"crypted": true, "text": "$6$salt$hashhashhash"},
  "disks": {"default": {"filename": "/build/photon.img", "size": 16384}},
  "partitions": [
    {"mountpoint": "/boot/efi", "size": 10, "filesystem": "vfat"},
    {"mountpoint": "/", "size": 0, "filesystem": "ext4"}
  ],
  "packages": ["minimal", "linux-esx", "docker", "open-vm-tools"],
  "linux_flavor": "linux-esx",
  "bootmode": "efi",
  "network": {"type": "dhcp"},
  "public_key": "ssh-ed25519 AAAA admin@lab",
  "services": {"docker": "enabled", "sshd": "enabled"},
  "postinstall": ["systemctl enable docker"]
}"#;

#[test]
fn a_photon_sample_reads_and_renders_the_same() {
    let ks = Kickstart::parse(SAMPLE).unwrap();
    assert_eq!(ks.linux_flavor.as_deref(), Some("linux-esx"));
    assert_eq!(ks.services["docker"], ServiceState::Enabled);
    let again = Kickstart::parse(&ks.render().unwrap()).unwrap();
    assert_eq!(again, ks);
    let new_key = SAMPLE.replace(
        r#""public_key": "ssh-ed25519 AAAA admin@lab""#,
        r#""public_key": {"key": "ssh-ed25519 AAAA admin@lab", "reason": "ops"}"#,
    );
    assert!(matches!(
        Kickstart::parse(&new_key).unwrap().public_key,
        Some(PublicKey::WithReason { .. })
    ));
}

#[test]
fn what_the_installer_refuses_is_refused() {
    for (from, to, says) in [
        (r#""hostname""#, r#""hostnme""#, "unknown field `hostnme`"),
        (r#""crypted": true"#, r#""crypted": false"#, "crypted"),
        ("$6$salt$hashhashhash", "changeme", "crypt(3)"),
        (
            r#""default": {"filename""#,
            r#""main": {"filename""#,
            "'default'",
        ),
        (r#", "size": 16384"#, "", "a filename and a size"),
        (
            r#""mountpoint": "/", "size": 0"#,
            r#""mountpoint": "/data", "size": 0"#,
            "mounted at /",
        ),
        (
            r#""size": 10, "filesystem": "vfat""#,
            r#""size": 0, "filesystem": "vfat""#,
            "more than one",
        ),
        (
            r#""filesystem": "vfat""#,
            r#""filesystem": "ext4""#,
            "/boot/efi must be vfat",
        ),
        (r#""/boot/efi""#, r#""/""#, "used twice"),
        (r#""type": "dhcp""#, r#""type": "static""#, "ip_addr"),
        (
            r#""enabled", "sshd""#,
            r#""on", "sshd""#,
            "unknown variant `on`",
        ),
        (
            r#""photon-docker""#,
            r#""-bad_host""#,
            "not a valid host name",
        ),
    ] {
        assert!(SAMPLE.contains(from), "{from}");
        let text = SAMPLE.replacen(from, to, 1);
        let e = Kickstart::parse(&text).unwrap_err().to_string();
        assert!(e.contains(says), "{from} -> {to}: {e}");
    }
}
