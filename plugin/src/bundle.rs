//! ESXi offline bundles (depot zips such as `VDVS_driver-0.21.1-offline_bundle-7812185.zip`):
//! `index.xml`, `vendor-index.xml`, `metadata.zip` and the VIB under `vib20/<name>/`.

use crate::vib::Vib;
use crate::{bad, Result};
use std::io::{Read, Seek};

/// Largest VIB read out of a bundle (the vDVS VIB is a few MB).
const MAX_VIB: u64 = 512 << 20;

/// The VIBs of an offline bundle, each read and verified.
pub fn read_bundle<R: Read + Seek>(zip: R) -> Result<Vec<(String, Vec<u8>, Vib)>> {
    let mut z = zip::ZipArchive::new(zip).map_err(|e| bad!("not a zip archive: {e}"))?;
    let names: Vec<String> = z.file_names().map(String::from).collect();
    for required in ["index.xml", "vendor-index.xml", "metadata.zip"] {
        if !names.iter().any(|n| n == required) {
            return Err(bad!("not an ESXi offline bundle: {required} is missing"));
        }
    }
    let mut vibs = Vec::new();
    let mut vib_names: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("vib20/") && n.ends_with(".vib"))
        .collect();
    vib_names.sort();
    for name in vib_names {
        let mut f = z.by_name(name).map_err(|e| bad!("{name}: {e}"))?;
        if f.size() > MAX_VIB {
            return Err(bad!(
                "{name} is {} bytes, more than a VIB should be",
                f.size()
            ));
        }
        let mut bytes = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut bytes)
            .map_err(|e| bad!("{name}: damaged zip member ({e})"))?;
        let vib = Vib::parse(&bytes).map_err(|e| bad!("{name}: {e}"))?;
        vibs.push((name.clone(), bytes, vib));
    }
    if vibs.is_empty() {
        return Err(bad!("the offline bundle holds no VIB under vib20/"));
    }
    Ok(vibs)
}

/// The one VIB named `vib_name` in a bundle (the vDVS bundle has exactly one).
pub fn single_vib<R: Read + Seek>(zip: R, vib_name: &str) -> Result<(Vec<u8>, Vib)> {
    let mut found: Vec<_> = read_bundle(zip)?
        .into_iter()
        .filter(|(_, _, v)| v.descriptor.name == vib_name)
        .collect();
    match found.len() {
        1 => {
            let (_, bytes, vib) = found.remove(0);
            Ok((bytes, vib))
        }
        0 => Err(bad!("the offline bundle holds no {vib_name} VIB")),
        n => Err(bad!(
            "the offline bundle holds {n} {vib_name} VIBs; pass the .vib itself"
        )),
    }
}

/// The bulletin ID a bundle of `vib` gets by default: `VDVS_driver-<release>` for the
/// vDVS driver VIB, `<name>-<version>` for any other.
pub fn default_bulletin(vib: &Vib) -> String {
    let d = &vib.descriptor;
    match crate::pairing::VibVersion::parse(&d.version) {
        Ok(v) if d.name == crate::VDVS_VIB_NAME => format!("VDVS_driver-{}", v.release_tag()),
        _ => format!("{}-{}", d.name, d.version),
    }
}

/// Writes an offline bundle for `vibs` (what vibauthor's --offline-depot makes),
/// so VUM / Lifecycle Manager can import it. The bulletin ID may only hold letters,
/// digits, '.', '_' and '-'.
pub fn write_bundle(
    vibs: &[(&Vib, &[u8])],
    bulletin_id: &str,
    release_date: &str,
) -> Result<Vec<u8>> {
    if bulletin_id.is_empty()
        || !bulletin_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(crate::Error::Invalid(format!(
            "bulletin ID '{bulletin_id}' may only hold letters, digits, '.', '_' and '-'"
        )));
    }
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let vendor = vibs
        .first()
        .map_or("VMWare".to_string(), |(v, _)| v.descriptor.vendor.clone());
    let vib_ids: String = vibs
        .iter()
        .map(|(v, _)| format!("<vibID>{}</vibID>", v.id()))
        .collect();
    let bulletin = format!(
        "<bulletin><id>{bulletin_id}</id><vendor>{vendor}</vendor><summary>{bulletin_id}</summary><severity>general</severity><category>enhancement</category><urgency>important</urgency><releaseType>extension</releaseType><releaseDate>{release_date}</releaseDate><platforms><softwarePlatform locale=\"\" version=\"6.*\" productLineID=\"embeddedEsx\"/></platforms><vibList>{vib_ids}</vibList></bulletin>"
    );
    let mut meta = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    meta.start_file("vmware.xml", opts).map_err(zip_err)?;
    meta.write_all(format!("<metadataResponse><version>3.0</version><bulletin>{bulletin}</bulletin></metadataResponse>").as_bytes())?;
    meta.start_file(format!("bulletins/{bulletin_id}.xml"), opts)
        .map_err(zip_err)?;
    meta.write_all(bulletin.as_bytes())?;
    for (v, _) in vibs {
        meta.start_file(format!("vibs/{}.xml", v.id()), opts)
            .map_err(zip_err)?;
        meta.write_all(format!("<vib><id>{}</id></vib>", v.id()).as_bytes())?;
    }
    let meta = meta.finish().map_err(zip_err)?.into_inner();
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let index = format!("<vendorList><vendor><name>{vendor}</name><code>{vendor}</code><indexfile>vendor-index.xml</indexfile><patchUrl></patchUrl><relativePath></relativePath><content><name>VMware ESX</name><type>http://www.vmware.com/depotmanagement/esx</type></content></vendor></vendorList>");
    let vendor_index = "<vendor><vendorVersion></vendorVersion><metadata><productId>embeddedEsx</productId><version>6.0.0</version><url>metadata.zip</url></metadata></vendor>";
    for (name, body) in [
        ("index.xml", index.as_bytes()),
        ("vendor-index.xml", vendor_index.as_bytes()),
        ("metadata.zip", &meta),
    ] {
        z.start_file(name, opts).map_err(zip_err)?;
        z.write_all(body)?;
    }
    for (v, bytes) in vibs {
        z.start_file(format!("vib20/{}/{}.vib", v.descriptor.name, v.id()), opts)
            .map_err(zip_err)?;
        z.write_all(bytes)?;
    }
    Ok(z.finish().map_err(zip_err)?.into_inner())
}

fn zip_err(e: zip::result::ZipError) -> crate::Error {
    crate::Error::Io(std::io::Error::other(e.to_string()))
}
