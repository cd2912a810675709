//! Every text photon-fleet renders lives as a handlebars file in this folder and is
//! compiled in here. Values are XML-escaped by default (`{{x}}`); `{{{x}}}` inserts
//! them verbatim.

use handlebars::Handlebars;
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("ovf", include_str!("../ovf.hbs")),
    ("vib-descriptor", include_str!("../vib-descriptor.hbs")),
    ("vmdk-descriptor", include_str!("../vmdk-descriptor.hbs")),
];

/// Escapes the five XML special characters.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn registry() -> &'static Handlebars<'static> {
    static REG: OnceLock<Handlebars<'static>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut h = Handlebars::new();
        h.set_strict_mode(true);
        h.register_escape_fn(xml_escape);
        for (name, text) in TEMPLATES {
            h.register_template_string(name, *text)
                .unwrap_or_else(|e| panic!("built-in template {name} does not compile: {e}"));
        }
        h
    })
}

/// Renders template `name`; the error is one line naming the template.
pub fn render<T: Serialize>(name: &str, data: &T) -> Result<String, String> {
    registry()
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
    fn every_template_compiles() {
        // Strict mode: rendering with an empty object fails on the first variable,
        // but a template that does not parse fails at registration (a panic here).
        let _ = super::registry();
    }
}
