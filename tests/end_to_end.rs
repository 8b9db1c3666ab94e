//! The main job, as a user runs it: `folio process examples/ccm-2012 --out DIR`, then the bundle opened with
//! the tools editors and printers use (qpdf, poppler, LibreOffice, python-docx, a JSON Schema validator).
//! `scripts/test` installs those tools; without them these tests fail and say so.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FOLIO: &str = env!("CARGO_BIN_EXE_folio");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{shown} could not start: {e}. Run scripts/test, which installs the tools the tests use.")
    });
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A copy of the example folder (so the test never writes into the repository) and a data folder.
fn example() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("ccm-2012");
    std::fs::create_dir_all(&input).unwrap();
    for entry in std::fs::read_dir(repo().join("examples/ccm-2012")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), input.join(entry.file_name())).unwrap();
        }
    }
    let data = tmp.path().join("data");
    (tmp, input, data)
}

fn process(input: &Path, out: &Path, data: &Path) -> String {
    let output = run(Command::new(FOLIO)
        .arg("--data-dir")
        .arg(data)
        .arg("process")
        .arg(input)
        .arg("--out")
        .arg(out)
        .env("SOURCE_DATE_EPOCH", "1338508800"));
    String::from_utf8(output.stdout).unwrap()
}

fn manifest(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

fn contribution<'a>(m: &'a Value, title: &str) -> &'a Value {
    m["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"] == title)
        .unwrap_or_else(|| panic!("no contribution '{title}'"))
}

#[test]
fn the_example_becomes_a_bundle_with_the_rules_applied() {
    let (tmp, input, data) = example();
    let out = tmp.path().join("bundle");
    let summary = process(&input, &out, &data);
    assert!(summary.contains("4 documents processed"), "{summary}");
    assert!(summary.contains("left out: Cooperation and assistance"), "{summary}");

    for file in
        ["catalogue.docx", "catalogue.pdf", "manifest.json", "report.html", "originals/call-for-contributions.pdf"]
    {
        assert!(out.join(file).is_file(), "{file} missing from the bundle");
    }
    let m = manifest(&out);
    // Every document of every format has its thumbnails at both default sizes, the PDFs' and the DOCX's
    // (rendered by LibreOffice, which scripts/test installs) first pages included.
    for (title, file, width_height) in [
        ("Timeline of the catalogue in 2012", "timeline-2012.png", [(1024, 1024, 341), (256, 256, 85)]),
        ("Call for contributions to the catalogue", "call-for-contributions.pdf", [(1024, 724, 1024), (256, 181, 256)]),
        ("The call as circulated by Spain", "call-for-contributions.docx", [(1024, 724, 1024), (256, 181, 256)]),
    ] {
        let document = &contribution(&m, title)["documents"][0];
        let thumbnails = document["thumbnails"].as_array().unwrap_or_else(|| panic!("{file}: no thumbnails"));
        let got: Vec<(u64, u64, u64)> = thumbnails
            .iter()
            .map(|t| (t["max_side"].as_u64().unwrap(), t["width"].as_u64().unwrap(), t["height"].as_u64().unwrap()))
            .collect();
        assert_eq!(got, width_height, "{file}");
        for (t, size) in thumbnails.iter().zip([1024, 256]) {
            let path = format!("thumbnails/{size}/{file}.png");
            assert_eq!(t["location"], path.as_str());
            assert_eq!(t["format"], "png");
            let bytes = std::fs::read(out.join(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(bytes.starts_with(b"\x89PNG"), "{path} is not a PNG");
        }
        let small = format!("thumbnails/256/{file}.png");
        assert_eq!(document["thumbnail"], small.as_str(), "`thumbnail` is the small one");
        assert_eq!(document["record"]["thumbnail"], small.as_str());
        assert_eq!(document["record"]["thumbnails"], document["thumbnails"]);
    }
    // The DOCX's app.xml has no page count: LibreOffice's rendering gives it, laid out in Liberation Serif,
    // metric-compatible with the Times New Roman it asks for (scripts/setup installs fonts-liberation; with
    // DejaVu Serif standing in, wider, the same document took 2 pages).
    let docx = &contribution(&m, "The call as circulated by Spain")["documents"][0]["record"];
    assert_eq!(docx["pages"], 1);
    assert_eq!(docx["pages_source"], "rendered");
    // The Spanish statement is left out with a language finding; the English call is in the book.
    let spanish = contribution(&m, "Cooperation and assistance: conclusions and recommendations");
    assert_eq!(spanish["included"], false);
    let finding = &spanish["findings"][0];
    assert_eq!(finding["code"], "language");
    assert_eq!(finding["severity"], "blocking");
    assert_eq!(spanish["documents"][0]["record"]["language"], "es");
    let call = contribution(&m, "Call for contributions to the catalogue");
    assert_eq!(call["included"], true);
    assert_eq!(call["documents"][0]["record"]["language"], "en");
    assert_eq!(call["documents"][0]["record"]["pages"], 2);
    assert_eq!(contribution(&m, "Timeline of the catalogue in 2012")["included"], true);
    // Spain circulated the call as a DOCX: the same text as the call's PDF, a near duplicate naming it (a
    // warning: it stays in the book until an editor decides).
    let spain = contribution(&m, "The call as circulated by Spain");
    let near = spain["findings"].as_array().unwrap().iter().find(|f| f["code"] == "near_duplicate");
    let near = near.unwrap_or_else(|| panic!("no near_duplicate finding: {spain}"));
    assert_eq!(near["severity"], "warning");
    assert!(near["message"].as_str().unwrap().contains("Call for contributions to the catalogue"), "{near}");
    // The file with no row is an intake finding.
    let intake: Vec<&Value> = m["findings"].as_array().unwrap().iter().collect();
    assert!(intake.iter().any(|f| f["code"] == "unlisted_file" && f["file_name"] == "draft-notes.docx"), "{intake:?}");

    // Every file of the bundle is listed with its checksum.
    let files = m["files"].as_array().unwrap();
    for f in files {
        let bytes = std::fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
        use sha2::Digest;
        assert_eq!(f["sha256"], hex::encode(sha2::Sha256::digest(&bytes)), "{}", f["path"]);
    }
    assert!(files.iter().any(|f| f["path"] == "catalogue.pdf"));

    // The report says what was left out and why.
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("Spanish"), "report does not say why the statement was left out");
    assert!(report.contains("draft-notes.docx"));
}

#[test]
fn the_bundle_opens_in_the_tools_editors_and_printers_use() {
    let (tmp, input, data) = example();
    let out = tmp.path().join("bundle");
    process(&input, &out, &data);
    let pdf = out.join("catalogue.pdf");
    let docx = out.join("catalogue.docx");

    // The PDF: structurally sound, with pages and bookmarks for the chapters.
    run(Command::new("qpdf").arg("--check").arg(&pdf));
    let info = String::from_utf8(run(Command::new("pdfinfo").arg(&pdf)).stdout).unwrap();
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("pdfinfo gives pages");
    assert!(pages >= 4, "title, contents and two chapters need at least 4 pages; got {pages}");
    let outlines: Value =
        serde_json::from_slice(&run(Command::new("qpdf").args(["--json", "--json-key=outlines"]).arg(&pdf)).stdout)
            .unwrap();
    let titles: Vec<&str> =
        outlines["outlines"].as_array().expect("bookmarks").iter().filter_map(|o| o["title"].as_str()).collect();
    assert!(titles.contains(&"The Working Group on Cooperation and Assistance"), "bookmarks: {titles:?}");
    assert!(titles.contains(&"Mexico: cooperation and assistance under the Convention"), "bookmarks: {titles:?}");
    let text = String::from_utf8(run(Command::new("pdftotext").arg(&pdf).arg("-")).stdout).unwrap();
    assert!(text.contains("Juan José Gómez Camacho (Mexico)"), "attribution line missing from the PDF");
    // The chapter whose only contribution was left out keeps its heading and says why it is empty.
    assert!(text.contains("No contribution to this chapter is in the book yet"), "empty chapter note missing");

    // The DOCX: python-docx sees each chapter title as a Heading 1, in order.
    let script = "import docx, sys, json\nd = docx.Document(sys.argv[1])\nprint(json.dumps([p.text for p in d.paragraphs if p.style.name == 'Heading 1']))";
    let headings: Vec<String> =
        serde_json::from_slice(&run(Command::new("python3").arg("-c").arg(script).arg(&docx)).stdout).unwrap();
    assert_eq!(
        headings,
        [
            "The Working Group on Cooperation and Assistance",
            "Mexico: cooperation and assistance under the Convention",
            "Index of contributions by State",
            "Index of contributions by author",
            "Index of contributions by area"
        ]
    );
    // Entries are Heading 2, the figure's caption is a Caption with its credit, the indexes list each entry
    // under its State with a page reference, and each chapter and index is a section whose running header
    // names it, numbered from the first chapter.
    let script = "import docx, sys, json\nd = docx.Document(sys.argv[1])\n\
        styles = {}\n\
        for p in d.paragraphs: styles.setdefault(p.style.name, []).append(p.text)\n\
        headers = [s.header.paragraphs[0].text if s.header.paragraphs else '' for s in d.sections]\n\
        footers = [s.footer._element.xml for s in d.sections]\n\
        print(json.dumps({'styles': styles, 'headers': headers, 'footers': footers}))";
    let docx_view: Value =
        serde_json::from_slice(&run(Command::new("python3").arg("-c").arg(script).arg(&docx)).stdout).unwrap();
    let styled = |name: &str| -> Vec<String> {
        docx_view["styles"][name]
            .as_array()
            .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        styled("Heading 2"),
        [
            "Call for contributions to the catalogue",
            "The call as circulated by Spain",
            "Timeline of the catalogue in 2012"
        ]
    );
    assert_eq!(
        styled("Caption"),
        ["Figure 1: Timeline of the catalogue in 2012 — Working Group co-chairs (Spain). Made for this example; CC0"]
    );
    assert_eq!(styled("Title"), ["Catalogue of best practices in cooperation and assistance"]);
    let index_headings = styled("index heading");
    for state in ["Mexico", "Spain", "Cooperation and assistance", "Juan José Gómez Camacho"] {
        assert!(index_headings.contains(&state.to_string()), "{state} not in the indexes: {index_headings:?}");
    }
    // Each entry: its title, a tab, and the page reference.
    assert!(
        styled("index 1").iter().any(|t| t.trim_end() == "The call as circulated by Spain"),
        "{:?}",
        styled("index 1")
    );
    let headers: Vec<&str> = docx_view["headers"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    assert_eq!(headers.len(), 6, "front matter, two chapters, three indexes: {headers:?}");
    assert_eq!(headers[0], "Catalogue of best practices in cooperation and assistance");
    assert_eq!(
        headers[1],
        "Catalogue of best practices in cooperation and assistance\tThe Working Group on Cooperation and Assistance"
    );
    assert!(headers[5].ends_with("\tIndex of contributions by area"), "{headers:?}");
    let footers = docx_view["footers"].as_array().unwrap();
    assert!(
        footers[1..].iter().all(|f| f.as_str().unwrap().contains("PAGE")),
        "page numbers from the first chapter on"
    );
    let document_xml = unzip_text(&docx, "word/document.xml");
    assert!(document_xml.contains("PAGEREF _Toc"), "the index's page references");

    // The PDF: a list of figures with the credit and the figure's page, the chapter's title in the running
    // header of its second page, and the indexes after the last chapter, as bookmarks too.
    let layout = |first: u32, last: u32| -> String {
        let out = run(Command::new("pdftotext")
            .args(["-layout", "-f", &first.to_string(), "-l", &last.to_string()])
            .arg(&pdf)
            .arg("-"));
        String::from_utf8(out.stdout).unwrap()
    };
    let m = manifest(&out);
    let first_chapter = &m["chapters"][0];
    let (first_page, chapter_pages) =
        (first_chapter["first_page"].as_u64().unwrap(), first_chapter["pages"].as_u64().unwrap());
    assert_eq!(first_page, 1);
    assert!(chapter_pages >= 2, "the first chapter spans pages: {first_chapter}");
    let front = layout(1, 3);
    assert!(front.contains("List of figures"), "{front}");
    assert!(front.contains("Working Group co-chairs (Spain). Made for this"), "the figure's credit: {front}");
    let second = layout(5, 5);
    assert!(
        second.lines().next().unwrap_or_default().contains("The Working Group on Cooperation and Assistance")
            || second.lines().take(3).any(|l| l.contains("The Working Group on Cooperation and Assistance")),
        "running header: {second}"
    );
    assert!(titles_of(&pdf).contains(&"Index of contributions by State".to_string()));
    // Page totals: the chapters' and the front and back matter's add up to the book's.
    let total = m["catalogue"]["pages"].as_u64().unwrap();
    assert_eq!(u64::from(pages), total, "the manifest's total is pdfinfo's");
    let chapters: u64 = m["chapters"].as_array().unwrap().iter().map(|c| c["pages"].as_u64().unwrap()).sum();
    assert!(chapters < total && chapters >= 2, "{chapters} of {total}");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report.contains("Pages of the book") && report.contains(&format!("<td>{total}</td>")),
        "page totals in the report"
    );

    // LibreOffice opens and converts it.
    let converted = tmp.path().join("converted");
    run(Command::new("soffice")
        .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
        .arg(&converted)
        .arg(&docx)
        .env("HOME", tmp.path()));
    assert!(converted.join("catalogue.pdf").is_file(), "LibreOffice wrote no PDF");
    // Its table of contents reads as entries with page numbers, not as field codes.
    let rendered =
        String::from_utf8(run(Command::new("pdftotext").arg(converted.join("catalogue.pdf")).arg("-")).stdout).unwrap();
    let contents = rendered.split("Contents").nth(1).unwrap_or_else(|| panic!("no Contents in:\n{rendered}"));
    assert!(!contents.contains("TOC \\o") && !contents.contains("PAGEREF"), "field codes shown:\n{contents}");
    assert!(contents.contains("Call for contributions to the catalogue"), "{contents}");

    // manifest.json validates against the schema in the repository, with a real JSON Schema validator.
    let schema = repo().join("schemas/manifest.schema.json");
    let script = "import json, sys, jsonschema\nschema = json.load(open(sys.argv[1]))\njsonschema.Draft202012Validator.check_schema(schema)\njsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))";
    run(Command::new("python3").arg("-c").arg(script).arg(&schema).arg(out.join("manifest.json")));
}

#[test]
fn running_again_makes_numbered_builds_with_change_lists() {
    let (tmp, input, data) = example();
    let out = tmp.path().join("bundle");
    process(&input, &out, &data);
    let first = manifest(&out);
    assert_eq!((first["build"].as_u64(), &first["changes"]["since"]), (Some(1), &Value::Null), "the first build");
    let summary = process(&input, &out, &data);
    assert!(summary.contains("build 1, nothing changed since it was made"), "{summary}");
    let second = manifest(&out);
    // Same inputs, same date: the same build written again, the same manifest, records included (nothing was
    // extracted twice).
    assert_eq!(first, second);

    // A fixed CSV row changes the verdict without reprocessing: rights withdrawn for the call.
    let csv = std::fs::read_to_string(input.join("contributions.csv")).unwrap();
    let withdrawn = csv.replace(
        "2012-01-18,Public document of the CCM Working Group; free to reproduce\ncall-for-contributions.docx",
        "2012-01-18,\ncall-for-contributions.docx",
    );
    assert_ne!(csv, withdrawn);
    std::fs::write(input.join("contributions.csv"), withdrawn).unwrap();
    process(&input, &out, &data);
    let third = manifest(&out);
    let call = contribution(&third, "Call for contributions to the catalogue");
    assert_eq!(call["included"], false);
    assert!(call["findings"].as_array().unwrap().iter().any(|f| f["code"] == "rights_not_cleared"));
    // Build 2, and it says what changed since build 1: the call's row was edited and it is left out now;
    // nothing else moved.
    assert_eq!(third["build"], 2);
    let changes = &third["changes"];
    assert_eq!(changes["since"], 1);
    let titles = |list: &str| -> Vec<String> {
        changes[list].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(titles("edited"), ["Call for contributions to the catalogue"]);
    assert_eq!(titles("now_left_out"), ["Call for contributions to the catalogue"]);
    for list in ["added", "removed", "replaced", "reprocessed", "waived", "withdrawn", "now_included", "moved"] {
        assert!(titles(list).is_empty(), "{list}: {changes}");
    }
    assert_eq!(changes["chapters_reordered"], false);
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("Since build 1:") && report.contains("Now left out (1)"), "the report's change list");

    // A new contribution, the timeline's picture replaced and the chapters reordered: build 3 lists them.
    let csv = std::fs::read_to_string(input.join("contributions.csv")).unwrap();
    let extra = "\nlate-note.pdf,mexico-cooperation,Spain,Javier Gil Catalina,A late note,text,donor,bilateral,2012-04-20,Free to reproduce\n";
    std::fs::write(input.join("contributions.csv"), format!("{}{extra}", csv.trim_end())).unwrap();
    std::fs::copy(input.join("call-for-contributions.pdf"), input.join("late-note.pdf")).unwrap();
    let png = image::RgbImage::from_fn(300, 100, |x, _| image::Rgb([(x % 256) as u8, 40, 90]));
    png.save(input.join("timeline-2012.png")).unwrap();
    let toml = std::fs::read_to_string(input.join("catalogue.toml")).unwrap();
    let (head, rest) = toml.split_once("[[chapters]]").unwrap();
    let chapters: Vec<&str> = rest.split("[[chapters]]").collect();
    let (second, rules) = chapters[1].split_once("[rules]").unwrap();
    let swapped = format!("{head}[[chapters]]{second}[[chapters]]{}[rules]{rules}", chapters[0]);
    std::fs::write(input.join("catalogue.toml"), swapped).unwrap();
    let summary = process(&input, &out, &data);
    assert!(summary.contains("Bundle (build 3)") && summary.contains("changed since build 2"), "{summary}");
    let fourth = manifest(&out);
    let changes = &fourth["changes"];
    let titles = |list: &str| -> Vec<String> {
        changes[list].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(titles("added"), ["A late note"]);
    assert_eq!(titles("replaced"), ["Timeline of the catalogue in 2012"]);
    assert_eq!(changes["replaced"][0]["detail"], "timeline-2012.png changed");
    assert_eq!(changes["chapters_reordered"], true);
    assert_eq!(fourth["chapters"][0]["key"], "mexico-cooperation");
}

/// A build is reproducible: the same inputs processed from scratch twice (two data folders) give the same
/// bundle, byte for byte: the same manifest, the same book text, the same files.
#[test]
fn the_same_inputs_give_the_same_bundle() {
    let (tmp, input, data) = example();
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    process(&input, &first, &data);
    process(&input, &second, &tmp.path().join("other-data"));
    assert_eq!(
        std::fs::read(first.join("manifest.json")).unwrap(),
        std::fs::read(second.join("manifest.json")).unwrap(),
        "two builds of the same inputs: identical manifests"
    );
    let text = |out: &Path| run(Command::new("pdftotext").arg(out.join("catalogue.pdf")).arg("-")).stdout;
    assert_eq!(text(&first), text(&second), "the same book text");
    assert_eq!(
        unzip_text(&first.join("catalogue.docx"), "word/document.xml"),
        unzip_text(&second.join("catalogue.docx"), "word/document.xml")
    );
    for f in manifest(&first)["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        assert_eq!(std::fs::read(first.join(path)).unwrap(), std::fs::read(second.join(path)).unwrap(), "{path}");
    }
}

fn unzip_text(zip_path: &Path, name: &str) -> String {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let mut text = String::new();
    archive.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

fn titles_of(pdf: &Path) -> Vec<String> {
    let outlines: Value =
        serde_json::from_slice(&run(Command::new("qpdf").args(["--json", "--json-key=outlines"]).arg(pdf)).stdout)
            .unwrap();
    outlines["outlines"].as_array().unwrap().iter().filter_map(|o| o["title"].as_str().map(str::to_string)).collect()
}

/// `folio keygen` makes a key; a bundle made with it is signed; `folio verify` says it holds, then names a
/// changed, a missing and an added file, and a signature by another key.
#[test]
fn a_signed_bundle_verifies_and_each_change_is_named() {
    let (tmp, input, data) = example();
    let key = tmp.path().join("signing.key");
    let public = String::from_utf8(run(Command::new(FOLIO).arg("keygen").arg("--out").arg(&key)).stdout).unwrap();
    let public = public.trim().to_string();
    assert_eq!(public.len(), 64, "{public}");
    let out = tmp.path().join("bundle");
    run(Command::new(FOLIO)
        .arg("--data-dir")
        .arg(&data)
        .arg("process")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .env("FOLIO_SIGNING_KEY", std::fs::read_to_string(&key).unwrap().trim()));
    assert!(out.join("signature.json").is_file());
    let verify = |extra: &[&str]| {
        let output = Command::new(FOLIO).arg("verify").arg(&out).args(extra).output().unwrap();
        (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (ok, said) = verify(&["--public-key", &public]);
    assert!(ok, "{said}");
    assert!(said.starts_with("ok: ") && said.contains("signed by key"), "{said}");

    // Another key: refused, even though the bundle is whole.
    let other = tmp.path().join("other.key");
    let other_public =
        String::from_utf8(run(Command::new(FOLIO).arg("keygen").arg("--out").arg(&other)).stdout).unwrap();
    let (ok, said) = verify(&["--public-key", other_public.trim()]);
    assert!(!ok && said.contains("not by the trusted key"), "{said}");

    // A changed file, a missing one, an added one: each named.
    let report = out.join("report.html");
    std::fs::write(&report, "tampered").unwrap();
    let thumbnail = std::fs::read_dir(out.join("thumbnails/256")).unwrap().next().unwrap().unwrap().path();
    std::fs::remove_file(&thumbnail).unwrap();
    std::fs::write(out.join("originals/extra.pdf"), b"%PDF-1.4").unwrap();
    let (ok, said) = verify(&["--public-key", &public]);
    assert!(!ok, "{said}");
    assert!(said.contains("changed: report.html"), "{said}");
    let missing = format!("missing: thumbnails/256/{}", thumbnail.file_name().unwrap().to_string_lossy());
    assert!(said.contains(&missing), "{said}");
    assert!(said.contains("added: originals/extra.pdf"), "{said}");

    // A manifest changed after signing: the signature no longer holds.
    let manifest_path = out.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap().replacen("Catalogue", "Katalog", 1);
    std::fs::write(&manifest_path, text).unwrap();
    let (ok, said) = verify(&[]);
    assert!(!ok && said.contains("does not match manifest.json"), "{said}");
}

#[test]
fn out_must_be_new_empty_or_a_bundle() {
    let (tmp, input, data) = example();
    let out = tmp.path().join("precious");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("thesis.txt"), "do not delete").unwrap();
    let result = Command::new(FOLIO)
        .arg("--data-dir")
        .arg(&data)
        .arg("process")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(
        String::from_utf8_lossy(&result.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(std::fs::read_to_string(out.join("thesis.txt")).unwrap(), "do not delete");
}

#[test]
fn extract_prints_a_line_per_file_and_survives_bad_files() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = tmp.path().join("garbage.pdf");
    std::fs::write(
        &garbage,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    )
    .unwrap();
    let text = tmp.path().join("notes.txt");
    std::fs::write(&text, "just text").unwrap();
    let missing = tmp.path().join("missing.pdf");
    let example = repo().join("examples/ccm-2012/call-for-contributions.pdf");
    let out = run(Command::new(FOLIO)
        .args(["extract", "--json", "--thumbnails"])
        .arg(tmp.path().join("thumbs"))
        .arg(&example)
        .arg(&garbage)
        .arg(&text)
        .arg(&missing));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "one line per file, in order");
    assert_eq!(lines[0]["format"], "pdf");
    assert_eq!(lines[0]["pages"], 2);
    assert_eq!(lines[0]["error"], Value::Null);
    assert!(lines[0]["thumbnail"].as_str().is_some_and(|t| Path::new(t).is_file()), "{}", lines[0]);
    // Every size is written, each in its folder; `thumbnail` is the smallest.
    let thumbnails = lines[0]["thumbnails"].as_array().unwrap();
    let sizes: Vec<u64> = thumbnails.iter().map(|t| t["max_side"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [1024, 256]);
    for t in thumbnails {
        let path = Path::new(t["location"].as_str().unwrap());
        assert!(path.is_file(), "{}", path.display());
        assert!(path.starts_with(tmp.path().join("thumbs").join(t["max_side"].to_string())), "{}", path.display());
    }
    assert_eq!(lines[0]["thumbnail"], thumbnails[1]["location"]);
    assert_eq!(lines[1]["error"]["kind"], "corrupt");
    assert_eq!(lines[2]["error"]["kind"], "unsupported_format");
    assert_eq!(lines[3]["error"]["kind"], "io");
    for line in &lines {
        assert!(line.get("text").is_none(), "text only with --text");
    }
}

/// A call received `.doc`, `.odt` and `.rtf` files as well as DOCX: each goes through `folio process` into the
/// book, converted by LibreOffice (the fixtures are the example's call saved as each; see
/// services/folio-extract/tests/fixtures/README.md).
#[test]
fn doc_odt_and_rtf_contributions_go_into_the_book() {
    let (tmp, input, data) = example();
    let fixtures = repo().join("services/folio-extract/tests/fixtures/legacy");
    let mut csv = std::fs::read_to_string(input.join("contributions.csv")).unwrap();
    for (ext, state) in [("doc", "Chile"), ("odt", "Norway"), ("rtf", "Austria")] {
        std::fs::copy(fixtures.join(format!("call-for-contributions.{ext}")), input.join(format!("call.{ext}")))
            .unwrap();
        csv.push_str(&format!(
            "call.{ext},working-group,{state},Desk of {state},The call as received in {ext},text,both,multilateral,2012-01-20,Public document; free to reproduce\n"
        ));
    }
    std::fs::write(input.join("contributions.csv"), csv).unwrap();
    let out = tmp.path().join("bundle");
    let summary = process(&input, &out, &data);
    assert!(summary.contains("7 documents processed"), "{summary}");
    let m = manifest(&out);
    let text =
        String::from_utf8(run(Command::new("pdftotext").arg(out.join("catalogue.pdf")).arg("-")).stdout).unwrap();
    for ext in ["doc", "odt", "rtf"] {
        let title = format!("The call as received in {ext}");
        let c = contribution(&m, &title);
        let record = &c["documents"][0]["record"];
        assert_eq!((record["format"].as_str(), record["converted_from"].as_str()), (Some(ext), Some(ext)), "{record}");
        assert_eq!(record["language"], "en", "{record}");
        assert!(record["error"].is_null(), "{record}");
        assert!(text.contains(&title), "{title} is in the book");
        assert!(out.join(format!("originals/call.{ext}")).is_file(), "the original is in the bundle");
    }
}

/// Issue 23: each PDF contribution is placed in catalogue.pdf as it was made: the book has at least as many
/// pages as those contributions together, and each original's lines are text in the book, in its order.
#[test]
fn pdf_contributions_are_placed_in_the_book_as_they_were_made() {
    let (tmp, input, data) = example();
    let out = tmp.path().join("bundle");
    process(&input, &out, &data);
    let pdf = out.join("catalogue.pdf");
    let info = String::from_utf8(run(Command::new("pdfinfo").arg(&pdf)).stdout).unwrap();
    let book_pages: u32 =
        info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|p| p.trim().parse().ok()).unwrap();
    let book_text = String::from_utf8(run(Command::new("pdftotext").arg(&pdf).arg("-")).stdout).unwrap();

    let m = manifest(&out);
    let mut placed_pages = 0;
    let mut placed = 0;
    for c in m["contributions"].as_array().unwrap().iter().filter(|c| c["included"] == true) {
        for d in c["documents"].as_array().unwrap() {
            let record = &d["record"];
            if record["format"] != "pdf" || !record["error"].is_null() {
                continue;
            }
            placed += 1;
            placed_pages += record["pages"].as_u64().unwrap() as u32;
            let original = out.join(d["original"].as_str().unwrap());
            let text = String::from_utf8(run(Command::new("pdftotext").arg(&original).arg("-")).stdout).unwrap();
            let mut from = 0;
            for line in text.lines().map(str::trim).filter(|l| l.chars().count() > 15) {
                let at = book_text[from..]
                    .find(line)
                    .unwrap_or_else(|| panic!("{}: {line:?} is not in the book after byte {from}", d["original"]));
                from += at + line.len();
            }
        }
    }
    // The seed call for contributions; the example's other PDF (Mexico's statement) is left out by a rule.
    assert!(placed >= 1, "the example has a PDF contribution in the book: {placed}");
    assert!(book_pages >= placed_pages, "{book_pages} pages in the book, {placed_pages} in its PDF contributions");
}

/// Issue 23: the CSV's optional `layout` column sets a PDF contribution from its text instead: no page of it
/// is placed (no credit line), its paragraphs are set in the book's type under the attribution.
#[test]
fn a_layout_column_of_text_sets_a_pdf_contribution_from_its_text() {
    let (tmp, input, data) = example();
    let csv_path = input.join("contributions.csv");
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    let mut out_csv = format!("{},layout\n", lines.next().unwrap());
    for line in lines {
        let layout = if line.starts_with("call-for-contributions.pdf,") { "text" } else { "" };
        out_csv.push_str(&format!("{line},{layout}\n"));
    }
    std::fs::write(&csv_path, out_csv).unwrap();
    let out = tmp.path().join("bundle");
    process(&input, &out, &data);
    let text =
        String::from_utf8(run(Command::new("pdftotext").arg(out.join("catalogue.pdf")).arg("-")).stdout).unwrap();
    let credit = "Call for contributions to the catalogue. Juan José Gómez Camacho (Mexico)";
    assert!(!text.contains(credit), "no credit line: the PDF is not placed");
    assert!(text.contains("Juan José Gómez Camacho (Mexico)"), "the attribution line of a contribution set from text");
    assert!(text.contains("Dear Excellency"), "its text is set");
}

/// Issue 23: in catalogue.docx the seed call read from its PDF keeps its paragraphs (found from the page's
/// layout): the date, the greeting and each body paragraph are paragraphs of their own, as they are in the
/// DOCX the same call was sent as.
#[test]
fn the_seed_calls_paragraphs_survive_into_the_docx_master() {
    let (tmp, input, data) = example();
    let out = tmp.path().join("bundle");
    process(&input, &out, &data);
    let script =
        "import docx, sys, json\nd = docx.Document(sys.argv[1])\nprint(json.dumps([p.text for p in d.paragraphs]))";
    let paragraphs: Vec<String> = serde_json::from_slice(
        &run(Command::new("python3").arg("-c").arg(script).arg(out.join("catalogue.docx"))).stdout,
    )
    .unwrap();
    let count = |wanted: &dyn Fn(&str) -> bool| paragraphs.iter().filter(|p| wanted(p.trim())).count();
    // Once from the PDF contribution, once from the DOCX one.
    assert_eq!(count(&|p| p == "Dear Excellency,"), 2, "{paragraphs:#?}");
    assert_eq!(count(&|p| p.starts_with("Geneva, January 18, 2012")), 2, "{paragraphs:#?}");
    let body = |p: &str| p.starts_with("We are pleased to address you") && p.ends_with("Meeting of the Parties.");
    assert_eq!(count(&body), 2, "the first body paragraph, whole and alone: {paragraphs:#?}");
}

/// Issue 23, the mixed folder: the seed call (a PDF letter and the same as DOCX), and a report made both as a
/// DOCX (headings, lists, a table, a picture with its caption, footnotes, a running header and a footer with
/// the page number, a text box) and as the PDF LibreOffice prints from it
/// (`services/folio-extract/tests/fixtures/form/`). Opened with python-docx and pdftotext: the DOCX
/// contribution's headings, list items, table cells, picture and footnotes are in catalogue.docx as such; the
/// PDF report's headings and list items too, rebuilt from its layout; no running header or footer of either is
/// set in the body of either book; the bundle verifies; a second run gives the same bytes.
#[test]
fn a_mixed_folder_keeps_each_contributions_form_in_both_books() {
    let (tmp, input, data) = example();
    let fixtures = repo().join("services/folio-extract/tests/fixtures/form");
    std::fs::copy(fixtures.join("form.docx"), input.join("report.docx")).unwrap();
    std::fs::copy(fixtures.join("form.pdf"), input.join("report.pdf")).unwrap();
    let mut csv = std::fs::read_to_string(input.join("contributions.csv")).unwrap();
    csv.push_str("report.docx,working-group,Lao PDR,UXO Lao,Clearing the border districts,text,both,bilateral,2012-02-10,CC BY 4.0\n");
    csv.push_str("report.pdf,mexico-cooperation,Lebanon,LMAC,Clearing the border districts as printed,text,both,bilateral,2012-02-11,CC BY 4.0\n");
    std::fs::write(input.join("contributions.csv"), csv).unwrap();
    let (out, again) = (tmp.path().join("bundle"), tmp.path().join("again"));
    process(&input, &out, &data);

    let script = r#"
import docx, json, sys
d = docx.Document(sys.argv[1])
body = d.element.body
def numbered(p):
    ppr = p._p.pPr
    return ppr is not None and ppr.numPr is not None
print(json.dumps({
    "paragraphs": [[p.style.name, p.text, numbered(p)] for p in d.paragraphs],
    "tables": [[[c.text for c in row.cells] for row in t.rows] for t in d.tables],
    "inline_pictures": len(d.inline_shapes),
    "footnotes": [part.blob.decode() for part in d.part.package.parts if str(part.partname).endswith("footnotes.xml")],
}))
"#;
    let found: Value = serde_json::from_slice(
        &run(Command::new("python3").arg("-c").arg(script).arg(out.join("catalogue.docx"))).stdout,
    )
    .unwrap();
    let paragraphs: Vec<(String, String, bool)> = serde_json::from_value(found["paragraphs"].clone()).unwrap();
    let styled = |style: &str, text: &str| paragraphs.iter().filter(|(s, t, _)| s == style && t == text).count();
    // The DOCX's and the PDF's own headings, below the entries' titles (Heading 2).
    assert_eq!(styled("Heading 3", "Background"), 1, "the DOCX's heading: {paragraphs:#?}");
    assert_eq!(styled("Heading 4", "Background"), 1, "the PDF's, one level below its title: {paragraphs:#?}");
    let headings_of_pdf =
        paragraphs.iter().filter(|(s, t, _)| s.starts_with("Heading ") && t == "Lessons learned").count();
    assert_eq!(
        headings_of_pdf, 2,
        "'Lessons learned' a heading from the DOCX and from the PDF's layout: {paragraphs:#?}"
    );
    // List items: List Paragraph with Word numbering, from both.
    for item in ["Non-technical survey of every village", "The district keeps the map"] {
        let items: Vec<_> = paragraphs.iter().filter(|(_, t, _)| t == item).collect();
        assert_eq!(items.len(), 2, "{item}: {items:?}");
        assert!(items.iter().all(|(s, _, numbered)| s == "List Paragraph" && *numbered), "{items:?}");
    }
    // The DOCX's table, as a table.
    let tables: Vec<Vec<Vec<String>>> = serde_json::from_value(found["tables"].clone()).unwrap();
    assert!(
        tables.iter().any(|t| t.iter().any(|row| row == &["Devices destroyed".to_string(), "1,318".to_string()])),
        "{tables:?}"
    );
    // The pictures drawn in the DOCX and printed in the PDF, inline, with the example's graphic.
    assert!(found["inline_pictures"].as_u64().unwrap() >= 3, "{found}");
    assert!(
        paragraphs.iter().any(|(s, t, _)| s == "Caption" && t.contains("The cleared areas in 2012")),
        "the picture's caption: {paragraphs:#?}"
    );
    // Footnotes as footnotes.
    let footnotes = found["footnotes"].to_string();
    assert!(footnotes.contains("The survey followed the national mine action standards."), "{footnotes}");
    // Running header and footer: in neither book's body.
    let pdf_text =
        String::from_utf8(run(Command::new("pdftotext").arg(out.join("catalogue.pdf")).arg("-")).stdout).unwrap();
    for furniture in ["Ministry of Defence - Mine Action Centre", "Confidential draft"] {
        assert!(!paragraphs.iter().any(|(_, t, _)| t.contains(furniture)), "{furniture} in catalogue.docx");
        // The PDF report is placed in catalogue.pdf as it was printed, its own header and footer on its pages:
        // once per page of it (2), never from the DOCX contribution set in the book's type.
        assert_eq!(pdf_text.matches(furniture).count(), 2, "{furniture} in catalogue.pdf:\n{pdf_text}");
    }
    for set in ["Devices destroyed", "Non-technical survey of every village", "District report, March 2013."] {
        assert!(pdf_text.matches(set).count() >= 2, "{set}: set from the DOCX, and on the PDF's placed pages");
    }

    let verified = Command::new(FOLIO).arg("verify").arg(&out).output().unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    process(&input, &again, &tmp.path().join("other-data"));
    for file in ["manifest.json", "catalogue.docx", "catalogue.pdf"] {
        assert_eq!(std::fs::read(out.join(file)).unwrap(), std::fs::read(again.join(file)).unwrap(), "{file}");
    }
}

/// Issue 24: a file its sender declared a photograph is not OCRed (it is sent for its picture; OCR would cost
/// it seconds to find nothing worth printing), the same file declared a graphic is; `extract.ocr_photographs`
/// asks for photographs to be OCRed too.
#[test]
fn a_declared_photograph_is_not_ocred_unless_asked() {
    let (tmp, input, data) = example();
    let scan = repo().join("services/folio-extract/tests/fixtures/scan-en.png");
    std::fs::copy(&scan, input.join("scan-photo.png")).unwrap();
    std::fs::copy(&scan, input.join("scan-graphic.png")).unwrap();
    let mut csv = std::fs::read_to_string(input.join("contributions.csv")).unwrap();
    csv.push_str("scan-photo.png,working-group,Chile,A photographer,The call on a desk,photograph,both,multilateral,2012-02-10,CC BY 4.0\n");
    csv.push_str("scan-graphic.png,working-group,Chile,A designer,The call as a graphic,graphic,both,multilateral,2012-02-10,CC BY 4.0\n");
    std::fs::write(input.join("contributions.csv"), csv).unwrap();
    let out = tmp.path().join("bundle");
    process(&input, &out, &data);
    let m = manifest(&out);
    let record = |title: &str| contribution(&m, title)["documents"][0]["record"].clone();
    let photo = record("The call on a desk");
    assert_eq!(photo["ocr"], "needed", "{photo}");
    assert_eq!(photo["words"], 0, "{photo}");
    let graphic = record("The call as a graphic");
    assert_eq!(graphic["ocr"], "applied", "{graphic}");
    assert!(graphic["words"].as_u64().unwrap() > 50, "{graphic}");

    let config = tmp.path().join("folio.toml");
    std::fs::write(&config, "[extract]\nocr_photographs = true\n").unwrap();
    let again = tmp.path().join("again");
    run(Command::new(FOLIO)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(tmp.path().join("other-data"))
        .arg("process")
        .arg(&input)
        .arg("--out")
        .arg(&again));
    let m = manifest(&again);
    let photo = contribution(&m, "The call on a desk")["documents"][0]["record"].clone();
    assert_eq!(photo["ocr"], "applied", "asked for: {photo}");
}
