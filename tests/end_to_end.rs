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
        ["The Working Group on Cooperation and Assistance", "Mexico: cooperation and assistance under the Convention"]
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
fn running_again_reuses_the_records_and_replaces_the_bundle() {
    let (tmp, input, data) = example();
    let out = tmp.path().join("bundle");
    process(&input, &out, &data);
    let first = manifest(&out);
    let summary = process(&input, &out, &data);
    assert!(summary.contains("build 2"), "{summary}");
    let second = manifest(&out);
    // Same inputs, same date: the same manifest, records included (nothing was extracted twice).
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
