//! Every text photon-fleet renders lives as a handlebars file in this folder and is
//! compiled in here. XML templates ([`render`]) escape values (`{{x}}`; `{{{x}}}`
//! inserts them verbatim); text templates ([`render_text`]: shell, systemd, JSON)
//! insert values as they are, and `{{sh x}}` single-quotes one for the shell.
#![forbid(unsafe_code)]

use handlebars::Handlebars;
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("ovf", include_str!("../ovf.hbs")),
    ("vib-descriptor", include_str!("../vib-descriptor.hbs")),
    ("vmdk-descriptor", include_str!("../vmdk-descriptor.hbs")),
];

const TEXT_TEMPLATES: &[(&str, &str)] = &[
    ("firstboot.sh", include_str!("../firstboot.sh.hbs")),
    ("firstboot.conf", include_str!("../firstboot.conf.hbs")),
    (
        "firstboot.service",
        include_str!("../firstboot.service.hbs"),
    ),
    ("vdvs.conf", include_str!("../vdvs.conf.hbs")),
    ("systemd.preset", include_str!("../systemd.preset.hbs")),
    ("timesyncd.conf", include_str!("../timesyncd.conf.hbs")),
];

pub use plumbing::text::{shell_quote, xml_escape};

handlebars::handlebars_helper!(sh: |s: str| shell_quote(s));

fn compile(templates: &[(&str, &'static str)], xml: bool) -> Handlebars<'static> {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    if xml {
        h.register_escape_fn(xml_escape);
    } else {
        h.register_escape_fn(handlebars::no_escape);
        h.register_helper("sh", Box::new(sh));
    }
    for (name, text) in templates {
        h.register_template_string(name, *text)
            .unwrap_or_else(|e| panic!("built-in template {name} does not compile: {e}"));
    }
    h
}

fn registry() -> &'static Handlebars<'static> {
    static REG: OnceLock<Handlebars<'static>> = OnceLock::new();
    REG.get_or_init(|| compile(TEMPLATES, true))
}

fn text_registry() -> &'static Handlebars<'static> {
    static REG: OnceLock<Handlebars<'static>> = OnceLock::new();
    REG.get_or_init(|| compile(TEXT_TEMPLATES, false))
}

/// Renders XML template `name`; the error is one line naming the template.
pub fn render<T: Serialize>(name: &str, data: &T) -> Result<String, String> {
    registry()
        .render(name, data)
        .map_err(|e| format!("rendering template {name}: {e}"))
}

/// Renders text template `name` (no escaping; use `{{sh x}}` in shell templates).
pub fn render_text<T: Serialize>(name: &str, data: &T) -> Result<String, String> {
    text_registry()
        .render(name, data)
        .map_err(|e| format!("rendering template {name}: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_xml() {
        assert_eq!(
            super::xml_escape(r#"a<b>&"c"'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;"
        );
    }

    #[test]
    fn every_template_compiles_and_renders_strictly() {
        // Every listed template registered (one that does not parse panics here)...
        let (xml, text) = (super::registry(), super::text_registry());
        assert_eq!(xml.get_templates().len(), super::TEMPLATES.len());
        assert_eq!(text.get_templates().len(), super::TEXT_TEMPLATES.len());
        // ... and strict: a variable the data lacks is an error naming the template,
        // never an empty string in a descriptor or a unit (the callers' tests render
        // each one with real data).
        let empty = serde_json::json!({});
        for (name, _) in super::TEMPLATES {
            let e = super::render(name, &empty).unwrap_err();
            assert!(
                e.starts_with(&format!("rendering template {name}: ")),
                "{e}"
            );
        }
        for (name, _) in super::TEXT_TEMPLATES {
            let e = super::render_text(name, &empty).unwrap_err();
            assert!(
                e.starts_with(&format!("rendering template {name}: ")),
                "{e}"
            );
            assert!(e.contains("strict mode"), "{name}: {e}");
        }
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(super::shell_quote("it's"), r"'it'\''s'");
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("printf %s {}", super::shell_quote("a'b $x `c`")),
            ])
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"a'b $x `c`");
    }
}
