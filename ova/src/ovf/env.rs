//! The OVF environment document (`ovf-env.xml`, DMTF DSP0243 section 11) a guest reads its
//! property values from: what vSphere hands over as `guestinfo.ovfEnv` or on the ISO
//! transport's CD-ROM, and what `photon-fleet try` puts on its CD-ROM. One `<Property>`
//! per line, as vSphere writes it (first boot reads it line by line).

use plumbing::text::xml_escape;

/// The ISO transport's volume label (what vSphere gives the CD-ROM it attaches).
pub const ISO_LABEL: &str = "OVF ENV";
/// The file on that CD-ROM.
pub const FILE_NAME: &str = "ovf-env.xml";

/// An attribute value: the five XML specials as entities, control characters (a newline
/// in a value, say) as numeric references, so every property stays on its line.
fn attr(s: &str) -> String {
    xml_escape(s)
        .chars()
        .map(|c| {
            if c.is_control() {
                format!("&#{};", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `ovf-env.xml` for the VM `id` on `platform` (e.g. "qemu"), with `values` in order.
pub fn render(id: &str, platform: &str, values: &[(String, String)]) -> String {
    let mut doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Environment
     xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"
     oe:id="{}">
   <PlatformSection>
      <Kind>{}</Kind>
   </PlatformSection>
   <PropertySection>
"#,
        attr(id),
        xml_escape(platform)
    );
    for (k, v) in values {
        doc.push_str(&format!(
            "         <Property oe:key=\"{}\" oe:value=\"{}\"/>\n",
            attr(k),
            attr(v)
        ));
    }
    doc.push_str("   </PropertySection>\n</Environment>\n");
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_from_an_xml_parser_and_stay_one_per_line() {
        let values = vec![
            ("hostname".to_string(), "dh-01".to_string()),
            (
                "ssh.authorized_key".to_string(),
                "ssh-ed25519 AAAA a&b <c> \"d\" 'e'".to_string(),
            ),
            ("note".to_string(), "two\nlines\tand é".to_string()),
        ];
        let xml = render("vm<1>", "qemu", &values);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let oe = "http://schemas.dmtf.org/ovf/environment/1";
        assert_eq!(doc.root_element().attribute((oe, "id")), Some("vm<1>"));
        let got: Vec<(String, String)> = doc
            .descendants()
            .filter(|n| n.has_tag_name((oe, "Property")))
            .map(|n| {
                (
                    n.attribute((oe, "key")).unwrap().to_string(),
                    n.attribute((oe, "value")).unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(got, values);
        let lines: Vec<&str> = xml.lines().filter(|l| l.contains("<Property ")).collect();
        assert_eq!(lines.len(), 3, "{xml}");
    }
}
