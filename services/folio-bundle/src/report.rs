//! `report.html`: what went into the book and what was left out, and why — one self-contained page an editor
//! can open from the bundle, mail, or print. No external assets: CSS is inline and thumbnails are `data:` URIs.
//! Every piece of text is escaped: file names and CSV cells come from outside.

use std::fmt::Write;

use crate::changes::BuildChanges;
use crate::model::BookPages;
use chrono::NaiveDate;
use folio_core::{ContributionKind, Finding, Record, Severity, ThumbnailFormat};

/// Everything the report shows. The coordinator fills it from the store; nothing here is computed from files.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    /// The catalogue's title.
    pub title: String,
    /// The day the bundle was made (the same date as the book's).
    pub generated: NaiveDate,
    /// The build's number.
    pub build: u32,
    /// What changed since the previous build.
    pub changes: BuildChanges,
    /// Where the chapters fall in the typeset book; `None` when it was not typeset.
    pub pages: Option<BookPages>,
    pub totals: Totals,
    /// In book order, including chapters whose contributions were all left out.
    pub chapters: Vec<ReportChapter>,
    /// Findings about the intake rather than a contribution: files no CSV row names, rows whose file is
    /// missing, malformed rows.
    pub intake_findings: Vec<Finding>,
}

/// The counts at the top of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Documents extracted (successfully or not).
    pub documents_processed: usize,
    /// Documents that could not be read.
    pub documents_failed: usize,
    pub contributions_included: usize,
    pub contributions_left_out: usize,
}

/// One chapter's contributions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportChapter {
    pub title: String,
    pub contributions: Vec<ReportContribution>,
}

/// One contribution, with its documents and findings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportContribution {
    pub title: String,
    pub state: String,
    pub author: String,
    pub kind: ContributionKind,
    /// Whether it is in the book. When not, its blocking findings are the reasons.
    pub included: bool,
    pub documents: Vec<ReportDocument>,
    /// All findings about the contribution and its documents; the report shows the most severe first.
    pub findings: Vec<Finding>,
}

/// One file of a contribution.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDocument {
    /// The name it was uploaded under.
    pub file_name: String,
    /// What extraction found; `None` when the document was never extracted.
    pub record: Option<Record>,
    /// A small thumbnail (a few hundred pixels) to inline, with its format; `None` when there is none.
    pub thumbnail: Option<(ThumbnailFormat, Vec<u8>)>,
}

/// Escapes text for HTML element content and attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;line-height:1.5;color:#1a1a1a;\
background:#fff;max-width:72rem;margin:0 auto;padding:1.5rem}\
h1{font-size:1.8rem;margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:2px solid #ccc}\
h3{margin-top:1.8rem}.muted{color:#555}\
dl.totals{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dl.totals dt{font-weight:600}\
dl.totals dd{margin:0}\
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}caption{text-align:left;font-weight:600;\
padding:.3rem 0}th,td{border:1px solid #bbb;padding:.35rem .5rem;vertical-align:top;text-align:left}\
th{background:#f0f0f0}td ul{margin:0;padding-left:1.1rem}\
.status-included{color:#0a5c2a;font-weight:600}.status-left-out{color:#9b1c1c;font-weight:600}\
.sev-blocking{color:#9b1c1c;font-weight:600}.sev-warning{color:#7a4b00;font-weight:600}.sev-info{color:#333}\
img.thumb{max-width:120px;max-height:160px;border:1px solid #ccc}\
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}\
@media print{body{max-width:none}h2{break-before:page}}";

/// Renders the report as one HTML document.
pub fn render_html(input: &ReportInput) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let title = escape(&input.title);
    let generated = input.generated.format("%Y-%m-%d").to_string();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Report: {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n\
         <h1>{title}</h1>\n<p class=\"muted\">Processing report for build {build}, generated <time datetime=\"{generated}\">{generated}</time></p>\n\
         </header>\n<main>\n",
        build = input.build
    );

    let t = &input.totals;
    let _ = write!(
        html,
        "<section aria-labelledby=\"totals\">\n<h2 id=\"totals\">Summary</h2>\n<dl class=\"totals\">\n\
         <dt>Documents processed</dt><dd>{}</dd>\n<dt>Documents that could not be read</dt><dd>{}</dd>\n\
         <dt>Contributions in the book</dt><dd>{}</dd>\n<dt>Contributions left out</dt><dd>{}</dd>\n</dl>\n</section>\n",
        t.documents_processed, t.documents_failed, t.contributions_included, t.contributions_left_out
    );
    changes(&mut html, &input.changes);
    book_pages(&mut html, input.pages.as_ref());

    html.push_str("<section aria-labelledby=\"chapters\">\n<h2 id=\"chapters\">Contributions by chapter</h2>\n");
    if input.chapters.is_empty() {
        html.push_str("<p>No chapters.</p>\n");
    }
    for (i, chapter) in input.chapters.iter().enumerate() {
        chapter_table(&mut html, i + 1, chapter);
    }
    html.push_str("</section>\n");

    left_out(&mut html, input);
    intake(&mut html, &input.intake_findings);

    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// What changed since the previous build, list by list.
fn changes(html: &mut String, changes: &BuildChanges) {
    html.push_str("<section aria-labelledby=\"changes\">\n<h2 id=\"changes\">Changes</h2>\n");
    let Some(since) = changes.since else {
        html.push_str("<p>The first build of this catalogue.</p>\n</section>\n");
        return;
    };
    if changes.is_empty() {
        let _ = writeln!(html, "<p>Nothing changed since build {since}.</p>\n</section>");
        return;
    }
    let _ = writeln!(html, "<p>Since build {since}:</p>");
    if changes.chapters_reordered {
        html.push_str("<p>The chapters' order changed.</p>\n");
    }
    html.push_str("<dl class=\"changes\">\n");
    for (name, list) in changes.lists().into_iter().filter(|(_, list)| !list.is_empty()) {
        let _ = write!(html, "<dt>{name} ({})</dt><dd><ul>", list.len());
        for c in list {
            let detail = c.detail.as_deref().map(|d| format!(" — {}", escape(d))).unwrap_or_default();
            let _ = write!(
                html,
                "<li><strong>{}</strong> ({}) <span class=\"muted\">chapter {}</span>{detail}</li>",
                escape(&c.title),
                escape(&c.state),
                escape(&c.chapter)
            );
        }
        html.push_str("</ul></dd>\n");
    }
    html.push_str("</dl>\n</section>\n");
}

/// Page totals of the typeset book, per chapter and in all.
fn book_pages(html: &mut String, pages: Option<&BookPages>) {
    let Some(pages) = pages else { return };
    html.push_str("<section aria-labelledby=\"pages\">\n<h2 id=\"pages\">Pages of the book</h2>\n");
    html.push_str(
        "<table>\n<caption>Pages of catalogue.pdf</caption>\n<thead><tr><th scope=\"col\">Part</th>\
         <th scope=\"col\">Pages</th><th scope=\"col\">From page</th></tr></thead>\n<tbody>\n",
    );
    let _ = writeln!(
        html,
        "<tr><th scope=\"row\">Title page, contents, list of figures</th><td>{}</td><td>—</td></tr>",
        pages.front_matter
    );
    for chapter in &pages.chapters {
        let _ = writeln!(
            html,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
            escape(&chapter.title),
            chapter.pages,
            chapter.first_page
        );
    }
    let _ =
        writeln!(html, "<tr><th scope=\"row\">Indexes and credits</th><td>{}</td><td>—</td></tr>", pages.back_matter);
    let _ = writeln!(
        html,
        "</tbody>\n<tfoot><tr><th scope=\"row\">The book</th><td>{}</td><td></td></tr></tfoot>\n</table>\n</section>",
        pages.total
    );
}

fn chapter_table(html: &mut String, number: usize, chapter: &ReportChapter) {
    let _ = writeln!(html, "<h3 id=\"chapter-{number}\">{}</h3>", escape(&chapter.title));
    if chapter.contributions.is_empty() {
        html.push_str("<p>No contributions.</p>\n");
        return;
    }
    let _ = writeln!(
        html,
        "<table>\n<caption>Contributions to “{}”</caption>\n<thead><tr>\
         <th scope=\"col\">Contribution</th><th scope=\"col\">Status</th><th scope=\"col\">Documents</th>\
         <th scope=\"col\">Pages</th><th scope=\"col\">Language</th><th scope=\"col\">Format</th>\
         <th scope=\"col\">Thumbnail</th><th scope=\"col\">Findings</th></tr></thead>\n<tbody>",
        escape(&chapter.title)
    );
    for c in &chapter.contributions {
        html.push_str("<tr>");
        let attribution = attribution(&c.author, &c.state);
        let _ = write!(
            html,
            "<th scope=\"row\">{}<br><span class=\"muted\">{} · {}</span></th>",
            escape(&c.title),
            escape(&attribution),
            c.kind.as_str()
        );
        if c.included {
            html.push_str("<td class=\"status-included\">Included</td>");
        } else {
            html.push_str("<td class=\"status-left-out\">Left out</td>");
        }
        let docs = &c.documents;
        cell_list(html, docs.iter().map(|d| format!("<code>{}</code>", escape(&d.file_name))));
        cell_list(html, docs.iter().map(|d| pages(d.record.as_ref())));
        cell_list(html, docs.iter().map(|d| language(d.record.as_ref())));
        cell_list(html, docs.iter().map(|d| format_cell(d.record.as_ref())));
        cell_list(
            html,
            docs.iter().filter_map(|d| {
                d.thumbnail.as_ref().map(|(format, bytes)| {
                    format!(
                        "<img class=\"thumb\" src=\"data:{};base64,{}\" alt=\"First page of {}\">",
                        format.mime(),
                        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes),
                        escape(&d.file_name)
                    )
                })
            }),
        );
        let mut findings: Vec<&Finding> = c.findings.iter().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        cell_list(html, findings.into_iter().map(finding));
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

/// A cell holding one line per item, or a dash when there are none.
fn cell_list(html: &mut String, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    match items.len() {
        0 => html.push_str("<td>—</td>"),
        1 => {
            let _ = write!(html, "<td>{}</td>", items[0]);
        }
        _ => {
            html.push_str("<td><ul>");
            for item in items {
                let _ = write!(html, "<li>{item}</li>");
            }
            html.push_str("</ul></td>");
        }
    }
}

fn attribution(author: &str, state: &str) -> String {
    match (author.trim().is_empty(), state.trim().is_empty()) {
        (false, false) => format!("{} ({})", author.trim(), state.trim()),
        (false, true) => author.trim().to_string(),
        (true, false) => state.trim().to_string(),
        (true, true) => "Unattributed".to_string(),
    }
}

fn pages(record: Option<&Record>) -> String {
    match record.and_then(|r| r.pages.map(|p| (p, r.pages_source))) {
        Some((p, Some(folio_core::PagesSource::Estimate))) => format!("about {p}"),
        Some((p, _)) => p.to_string(),
        None => "—".to_string(),
    }
}

fn language(record: Option<&Record>) -> String {
    match record.and_then(|r| r.language.as_deref().map(|l| (l, r.language_confidence))) {
        Some((lang, Some(conf))) => format!("{} ({:.0} %)", escape(lang), (conf * 100.0).clamp(0.0, 100.0)),
        Some((lang, None)) => escape(lang),
        None => "—".to_string(),
    }
}

fn format_cell(record: Option<&Record>) -> String {
    match record {
        Some(r) => match &r.error {
            Some(e) => format!("{} <span class=\"sev-blocking\">({})</span>", escape(&r.format), e.kind.as_str()),
            None => escape(&r.format),
        },
        None => "not extracted".to_string(),
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Blocking => "sev-blocking",
        Severity::Warning => "sev-warning",
        Severity::Info => "sev-info",
    }
}

/// "Blocking · too_long: message (file)", with the severity spelled out, not only coloured.
fn finding(f: &Finding) -> String {
    let file =
        f.file_name.as_deref().map(|n| format!(" <span class=\"muted\">({})</span>", escape(n))).unwrap_or_default();
    format!(
        "<span class=\"{}\">{}</span> · <code>{}</code>: {}{}",
        severity_class(f.severity),
        f.severity.as_str(),
        f.code.as_str(),
        escape(&f.message),
        file
    )
}

fn left_out(html: &mut String, input: &ReportInput) {
    html.push_str("<section aria-labelledby=\"left-out\">\n<h2 id=\"left-out\">Left out of the book</h2>\n");
    let excluded: Vec<(&ReportChapter, &ReportContribution)> = input
        .chapters
        .iter()
        .flat_map(|ch| ch.contributions.iter().filter(|c| !c.included).map(move |c| (ch, c)))
        .collect();
    if excluded.is_empty() {
        html.push_str("<p>Every contribution is in the book.</p>\n</section>\n");
        return;
    }
    html.push_str("<ul>\n");
    for (chapter, c) in excluded {
        let _ = write!(
            html,
            "<li><strong>{}</strong> — {} <span class=\"muted\">(chapter “{}”)</span>",
            escape(&c.title),
            escape(&attribution(&c.author, &c.state)),
            escape(&chapter.title)
        );
        let blocking: Vec<&Finding> = c.findings.iter().filter(|f| f.is_blocking()).collect();
        let reasons: Vec<&Finding> = if blocking.is_empty() { c.findings.iter().collect() } else { blocking };
        if reasons.is_empty() {
            html.push_str("<p>No reason was recorded.</p>");
        } else {
            html.push_str("<ul>");
            for f in reasons {
                let _ = write!(html, "<li>{}</li>", finding(f));
            }
            html.push_str("</ul>");
        }
        html.push_str("</li>\n");
    }
    html.push_str("</ul>\n</section>\n");
}

fn intake(html: &mut String, findings: &[Finding]) {
    html.push_str("<section aria-labelledby=\"intake\">\n<h2 id=\"intake\">Intake findings</h2>\n");
    if findings.is_empty() {
        html.push_str("<p>The folder and the CSV agree: no intake findings.</p>\n</section>\n");
        return;
    }
    html.push_str(
        "<table>\n<caption>Files and CSV rows that do not belong to a contribution</caption>\n<thead><tr>\
         <th scope=\"col\">Severity</th><th scope=\"col\">Code</th><th scope=\"col\">File</th>\
         <th scope=\"col\">Message</th></tr></thead>\n<tbody>\n",
    );
    for f in findings {
        let _ = writeln!(
            html,
            "<tr><td class=\"{}\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            severity_class(f.severity),
            f.severity.as_str(),
            f.code.as_str(),
            f.file_name.as_deref().map(escape).unwrap_or_else(|| "—".to_string()),
            escape(&f.message)
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}
