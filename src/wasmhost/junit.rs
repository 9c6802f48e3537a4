//! JUnit XML for CI systems: one `<testsuite>` per scenario file, one `<testcase>` per case,
//! a `<failure>` holding the differences.

use std::fmt::Write;

use super::results::{FileReport, Verdict};

pub fn junit(reports: &[FileReport]) -> String {
    let tests: usize = reports.iter().map(|r| r.cases.len()).sum();
    let failures: usize = reports.iter().map(FileReport::failed).sum();
    let skipped: usize = reports.iter().map(FileReport::skipped).sum();
    let time: f64 = reports.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        r#"<testsuites name="gw test" tests="{tests}" failures="{failures}" skipped="{skipped}" time="{time:.3}">"#
    );
    for report in reports {
        let file = report.file.display().to_string();
        let class = report.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| file.clone());
        let _ = writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="0" skipped="{}" time="{:.3}">"#,
            escape(&file),
            report.cases.len(),
            report.failed(),
            report.skipped(),
            report.duration.as_secs_f64()
        );
        for case in &report.cases {
            let _ = write!(
                out,
                r#"    <testcase name="{}" classname="{}" time="{:.3}""#,
                escape(&case.name),
                escape(&class),
                case.duration.as_secs_f64()
            );
            match &case.outcome {
                Verdict::Passed => out.push_str("/>\n"),
                Verdict::Skipped(reason) => {
                    let _ = writeln!(out, ">\n      <skipped message=\"{}\"/>\n    </testcase>", escape(reason));
                }
                Verdict::Failed(lines) => {
                    let first = lines.first().map(|l| l.lines().next().unwrap_or_default()).unwrap_or("failed");
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"failure\">{}</failure>\n    </testcase>",
                        escape(first),
                        escape(&lines.join("\n"))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes for both text and attributes, and replaces characters XML 1.0 cannot hold.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
        assert_eq!(escape("bell\u{7}tab\t"), "bell\u{FFFD}tab\t");
    }
}
