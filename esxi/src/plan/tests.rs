use super::*;

fn vib() -> VibFacts {
    VibFacts {
        id: "VMWare_bootbank_esx-vmdkops-service_0.21.2.8b7dc30-0.0.1".into(),
        name: "esx-vmdkops-service".into(),
        version: "0.21.2.8b7dc30-0.0.1".into(),
        signed: false,
        acceptance: "community".into(),
        esx_min: Some("6.0.0".into()),
        esxi8_checksums: true,
        size: 2 << 20,
        sha256: String::new(),
    }
}

fn host(esxi: &str, level: &str, installed: Option<&str>) -> HostFacts {
    HostFacts {
        esxi: EsxiVersion::parse(&format!("VMware ESXi {esxi} build-1\n")).unwrap(),
        acceptance: level.into(),
        installed: installed.map(|v| InstalledVib {
            id: format!("VMWare_bootbank_esx-vmdkops-service_{v}"),
            name: "esx-vmdkops-service".into(),
            version: v.into(),
            acceptance: "VMwareAccepted".into(),
        }),
        tmp_free_kib: Some(200_000),
        service_running: true,
    }
}

const OPTS: Options = Options {
    allow_downgrade: false,
    set_acceptance: false,
};

#[test]
fn install_upgrade_skip_and_downgrade() {
    let c = "CommunitySupported";
    assert_eq!(
        plan(&host("7.0.3", c, None), &vib(), &OPTS).action,
        Action::Install
    );
    let old = plan(&host("7.0.3", c, Some("0.20.15f5e1d-0.0.1")), &vib(), &OPTS);
    assert_eq!(old.action, Action::Upgrade);
    assert!(old.action.removes_first());
    assert_eq!(
        plan(&host("7.0.3", c, Some("1.0.0-0.0.1")), &vib(), &OPTS).action,
        Action::Upgrade,
        "pre-0.19 builds are older"
    );
    let same = plan(
        &host("7.0.3", c, Some("0.21.2.8b7dc30-0.0.1")),
        &vib(),
        &OPTS,
    );
    assert_eq!(same.action, Action::Skip);
    let mut stopped = host("7.0.3", c, Some("0.21.2.8b7dc30-0.0.1"));
    stopped.service_running = false;
    assert_eq!(plan(&stopped, &vib(), &OPTS).action, Action::StartService);
    assert_eq!(
        plan(
            &host("7.0.3", c, Some("0.21.2.1234567-0.0.1")),
            &vib(),
            &OPTS
        )
        .action,
        Action::Replace
    );
    let newer = host("7.0.3", c, Some("0.22.abcdef0-0.0.1"));
    let p = plan(&newer, &vib(), &OPTS);
    assert_eq!(p.action, Action::Refuse);
    assert_eq!(
        p.refusal,
        Some(Refusal::Newer {
            installed: "0.22.abcdef0-0.0.1".into(),
            target: vib().version
        })
    );
    let allow = Options {
        allow_downgrade: true,
        ..OPTS
    };
    assert_eq!(plan(&newer, &vib(), &allow).action, Action::Downgrade);
}

#[test]
fn refusals_say_why() {
    let c = "CommunitySupported";
    let p = plan(&host("5.5.0", c, None), &vib(), &OPTS);
    assert_eq!(p.action, Action::Refuse);
    assert!(p.reason.contains("esx-version >= 6.0.0"), "{}", p.reason);
    assert!(
        matches!(&p.refusal, Some(Refusal::EsxiTooOld { esxi, min }) if esxi == "5.5.0" && min == "6.0.0"),
        "{:?}",
        p.refusal
    );
    let mut v = vib();
    v.esxi8_checksums = false;
    assert_eq!(
        plan(&host("8.0.2", c, None), &v, &OPTS).refusal,
        Some(Refusal::NoEsxi8Checksums)
    );
    assert_eq!(
        plan(&host("7.0.3", c, None), &v, &OPTS).action,
        Action::Install
    );
    let partner = host("8.0.2", "PartnerSupported", None);
    let p = plan(&partner, &vib(), &OPTS);
    assert_eq!(
        p.refusal,
        Some(Refusal::Acceptance {
            host: "PartnerSupported".into(),
            vib: "community".into(),
            needed: "CommunitySupported".into()
        })
    );
    assert!(
        p.reason.contains("acceptance level is PartnerSupported"),
        "{}",
        p.reason
    );
    let set = Options {
        set_acceptance: true,
        ..OPTS
    };
    let p = plan(&partner, &vib(), &set);
    assert_eq!(p.action, Action::Install);
    assert_eq!(p.set_acceptance.as_deref(), Some("CommunitySupported"));
    let mut full = host("7.0.3", c, None);
    full.tmp_free_kib = Some(1000);
    let p = plan(&full, &vib(), &OPTS);
    assert!(matches!(
        p.refusal,
        Some(Refusal::TmpFull { free_kib: 1000, .. })
    ));
    assert!(p.reason.contains("1000 KiB free"), "{}", p.reason);
}
