#!/usr/bin/env python3
"""Folio beside the tools people would pick instead, on the same files, in one run.

    benches/compare.py [--corpus ../shared/corpus] [--folio target/release/folio] [--rounds 5]
                       [--only text,small,render,thumbs,ocr,ocr-truth,lang,docs,kreuzberg,mixed,office,photos]
                       [--work DIR]

Set-up (Debian; none of these tools' code enters the repository):

    apt-get install --no-install-recommends poppler-utils tesseract-ocr libvips-tools imagemagick
    python3 -m pip install lingua-language-detector extractous kreuzberg python-docx

Each comparison runs Folio and the reference on the same files, alternating which goes first, for --rounds
rounds, and prints medians and the ratio Folio / reference (above 1: Folio faster, or more accurate). Every
command runs one file at a time on one core (`folio extract --jobs 1`; the reference tools once per file, as
they are used), so the figures are per core. Peak memory is the largest resident set of the command and
every process it started (wait4's ru_maxrss).

- text: pages a second on the corpus's text PDFs (`folio extract`, no thumbnails, against `pdftotext`), and
  word-F1 against pdftotext from `folio eval --against-pdftotext`.
- small: documents a second on the corpus's text PDFs of at most 10 pages, one file at a time:
  `folio extract --jobs 1` with warm parser processes and with a process per document, against `pdftotext`
  once per file, and the share of Folio's time outside extraction.
- render: the first page of each text PDF at 256 px. Folio's cost is what `--thumbnail-sizes 256` adds to
  the text run above (it renders with PDFium in the same parser process); pdftoppm's is `pdftoppm -f 1 -l 1
  -scale-to 256 -png`.
- thumbs: a 256 px thumbnail of two 24-megapixel JPEG photographs (made here with ImageMagick's plasma) and
  of the corpus's readable PNGs. Folio's cost is what the thumbnail adds to `folio extract` of the image;
  against `vipsthumbnail --size 256` and ImageMagick's `convert -thumbnail 256x256`.
- ocr: the corpus's images of text (kind `ocr`): pages a second, Folio (which picks the language itself and
  may OCR twice) against `tesseract FILE - -l eng`, and how far their words agree (word-F1).
- ocr-truth: 12 pages of the corpus's English text PDFs made into images (300 dpi clean; 200 dpi, turned
  1.5 degrees and noisy), whose transcription is pdftotext's reading of the same page: pages a second and
  word-F1 (and the share of the transcription's words found) of Folio and `tesseract FILE - -l eng`.
- lang: accuracy and time on the language samples (lang_dev.jsonl), `folio eval-language` against lingua
  (high-accuracy mode, the languages of the samples), both in one process each.
- docs: every readable PDF and DOCX of the corpus, whole documents a second, peak memory and files failed,
  `folio extract` (no thumbnails) against extractous (Apache Tika compiled ahead of time) in one Python
  process, with its OCR off (each round) and as it comes (Tika's AUTO OCR strategy; once, it takes minutes).
- kreuzberg: Kreuzberg 4 (OCR on, Tesseract, English) in one Python process against `folio extract`, on the
  text PDFs of at most 10 pages, the DOCX and the OCR set (the ocr-truth pages), with word-F1 for both against pdftotext,
  python-docx and the transcriptions; and a mixed call (10 PDFs of at most 10 pages, 6 DOCX, 6 photographs,
  3 scans) through `folio process` (the whole bundle) against Kreuzberg's text of the same files, with the
  share of the median document's time in a worker outside extraction (from the workers' timing events).
- mixed: the mixed call alone.
- office: the corpus's DOCX rendered by LibreOffice (first page at 256 px, page count), one at a time, with
  LibreOffice kept running between documents and started for each: median time of a rendered DOCX.
- photos: the corpus's images that are not of text, undeclared: what the look for text (and OCR where it
  runs) adds to each above decoding and thumbnails (`folio extract --no-ocr`).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def run(cmd, **kw):
    """Runs a command; returns (seconds, peak RSS in MiB, stdout bytes)."""
    start = time.perf_counter()
    stderr = kw.pop("stderr", subprocess.DEVNULL)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, **kw)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024, out


def run_each(cmds):
    """Runs the commands one after another: (total seconds, largest peak RSS in MiB, outputs)."""
    total, peak, outs = 0.0, 0.0, []
    for cmd in cmds:
        s, m, o = run(cmd)
        total += s
        peak = max(peak, m)
        outs.append(o)
    return total, peak, outs


def alternate(rounds, sides):
    """Runs each side (name -> zero-argument function returning (seconds, MiB, output)) `rounds` times,
    the order turning each round; returns name -> (median seconds, max MiB, last output)."""
    times = {name: [] for name in sides}
    peaks = {name: 0.0 for name in sides}
    last = {}
    names = list(sides)
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            s, m, o = sides[name]()
            times[name].append(s)
            peaks[name] = max(peaks[name], m)
            last[name] = o
    return {name: (statistics.median(times[name]), peaks[name], last[name]) for name in names}


WORD = re.compile(r"\w+", re.UNICODE)


def words(text):
    return Counter(w.lower() for w in WORD.findall(text))


def word_f1(candidate, reference):
    a, b = words(candidate), words(reference)
    if not a and not b:
        return 1.0
    common = sum((a & b).values())
    if common == 0:
        return 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return 2 * p * r / (p + r)


def table(title, header, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def folio_extract(folio, files, sizes="none", thumbs=None, text=False):
    cmd = [folio, "extract", "--jobs", "1", "--json", "--thumbnail-sizes", sizes, "--libreoffice", "off"]
    if thumbs:
        cmd += ["--thumbnails", thumbs]
    if text:
        cmd.append("--text")
    return cmd + [str(f) for f in files]


def manifest(corpus):
    entries = []
    for line in (corpus / "dev" / "manifest.jsonl").read_text().splitlines():
        if line.strip():
            e = json.loads(line)
            e["file"] = corpus / "dev" / e["path"]
            entries.append(e)
    return entries


def text_pdfs(entries):
    return [
        e for e in entries
        if e["format"] == "pdf" and not e["expected_error"]
        and not {"scanned", "no-text-layer", "encrypted"} & set(e.get("kind", []))
    ]


def bench_text(a, entries):
    pdfs = text_pdfs(entries)
    pages = sum(e["expected_pages"] for e in pdfs)
    files = [e["file"] for e in pdfs]
    r = alternate(a.rounds, {
        "folio": lambda: run(folio_extract(a.folio, files)),
        "pdftotext": lambda: run_each([["pdftotext", str(f), "-"] for f in files]),
    })
    f1 = "?"
    out = subprocess.run([a.folio, "eval", "--against-pdftotext", "--jobs", "1", str(a.corpus / "dev" / "manifest.jsonl")],
                         capture_output=True, text=True).stdout
    m = re.search(r"word-F1 vs pdftotext\s+mean ([0-9.]+) over (\d+) text PDFs", out)
    if m:
        f1 = f"{m.group(1)} over {m.group(2)} files"
    pps = {k: pages / v[0] for k, v in r.items()}
    table(f"PDF text: {len(files)} text PDFs, {pages} pages", ["tool", "median s", "pages/s", "peak MiB"],
          [[k, f"{v[0]:.2f}", f"{pps[k]:.1f}", f"{v[1]:.0f}"] for k, v in r.items()])
    print(f"\nFolio / pdftotext, pages a second: {pps['folio'] / pps['pdftotext']:.2f}; Folio's word-F1 against pdftotext: {f1}")
    return r["folio"][0]


def bench_small(a, entries):
    """Issue 24: small text PDFs (at most 10 pages), one file at a time on both sides: documents a second of
    `folio extract --jobs 1` with warm parser processes (the default, as in production), with a process per
    document (`extract.warm_parsers = false`), and `pdftotext` once per file; and the share of Folio's time
    spent outside extraction (wall time less the parser's own `elapsed_ms`)."""
    pdfs = [e for e in text_pdfs(entries) if e["expected_pages"] <= 10]
    files = [e["file"] for e in pdfs]
    cold = Path(tempfile.mkdtemp(dir=a.work)) / "cold.toml"
    cold.write_text("[extract]\nwarm_parsers = false\n")
    r = alternate(a.rounds, {
        "folio (warm parsers)": lambda: run(folio_extract(a.folio, files)),
        "folio (a process a document)": lambda: run(["env", f"FOLIO_CONFIG={cold}"] + folio_extract(a.folio, files)),
        "pdftotext": lambda: run_each([["pdftotext", str(f), "-"] for f in files]),
    })
    rows = []
    for name, (seconds, peak, out) in r.items():
        inside = ""
        if name.startswith("folio"):
            elapsed = sum(rec.get("elapsed_ms", 0) for rec in records(out)) / 1000
            inside = f"{100 * max(seconds - elapsed, 0) / seconds:.0f}%"
        rows.append([name, f"{seconds:.3f}", f"{len(files) / seconds:.1f}", inside, f"{peak:.0f}"])
    table(f"Small text PDFs: {len(files)} PDFs of at most 10 pages, one at a time",
          ["tool", "median s", "documents/s", "time outside extraction", "peak MiB"], rows)
    ref = len(files) / r["pdftotext"][0]
    for name in ["folio (warm parsers)", "folio (a process a document)"]:
        print(f"\n{name} / pdftotext, documents a second: {len(files) / r[name][0] / ref:.2f}")


def bench_render(a, entries, text_seconds):
    pdfs = [e["file"] for e in text_pdfs(entries)]
    work = Path(tempfile.mkdtemp(dir=a.work))
    r = alternate(a.rounds, {
        "folio text + 256 px": lambda: run(folio_extract(a.folio, pdfs, "256", str(work / "folio"))),
        "folio text only": lambda: run(folio_extract(a.folio, pdfs)),
        "pdftoppm": lambda: run_each([["pdftoppm", "-f", "1", "-l", "1", "-scale-to", "256", "-png", str(f), str(work / "p")]
                                      for f in pdfs]),
    })
    folio = max(r["folio text + 256 px"][0] - r["folio text only"][0], 1e-9)
    ref = r["pdftoppm"][0]
    table(f"First page at 256 px: {len(pdfs)} PDFs", ["tool", "median s", "ms a page"],
          [["folio (what the thumbnail adds)", f"{folio:.2f}", f"{1000 * folio / len(pdfs):.1f}"],
           ["pdftoppm", f"{ref:.2f}", f"{1000 * ref / len(pdfs):.1f}"]])
    print(f"\nFolio / pdftoppm, pages a second: {ref / folio:.2f}")


# Debian's ImageMagick 6 under its own name, so that a `convert` earlier on PATH (or Windows') is not taken.
CONVERT = shutil.which("convert-im6.q16") or shutil.which("magick") or "convert"


def photos(work):
    made = []
    for n, seed in enumerate([1, 2]):
        path = work / f"photo-{n}.jpg"
        if not path.exists():
            subprocess.run([CONVERT, "-seed", str(seed), "-size", "6000x4000", "plasma:fractal", "-blur", "0x1",
                            "-quality", "90", str(path)], check=True)
        made.append(path)
    return made


def bench_thumbs(a, entries):
    work = Path(a.work)
    sets = {
        "24 MP JPEG": photos(work),
        "PNG": [e["file"] for e in entries if e["format"] == "png" and not e["expected_error"]],
    }
    rows, ratios = [], []
    for name, files in sets.items():
        out = Path(tempfile.mkdtemp(dir=a.work))
        r = alternate(a.rounds, {
            "folio + 256": lambda: run(folio_extract(a.folio, files, "256", str(out / "folio"))),
            "folio": lambda: run(folio_extract(a.folio, files)),
            "vipsthumbnail": lambda: run_each([["vipsthumbnail", str(f), "--size", "256", "-o", str(out / "v-%s.png")]
                                               for f in files]),
            "convert": lambda: run_each([[CONVERT, str(f), "-thumbnail", "256x256", str(out / "c.png")] for f in files]),
        })
        folio = max(r["folio + 256"][0] - r["folio"][0], 1e-9)
        n = len(files)
        rows += [[name, "folio (what the thumbnail adds)", f"{1000 * folio / n:.0f}", ""],
                 [name, "vipsthumbnail", f"{1000 * r['vipsthumbnail'][0] / n:.0f}", f"{r['vipsthumbnail'][1]:.0f}"],
                 [name, "ImageMagick convert", f"{1000 * r['convert'][0] / n:.0f}", f"{r['convert'][1]:.0f}"]]
        if folio * 1000 / n < 1:
            ratios.append(f"{name}: what the thumbnail adds to Folio is under 1 ms an image, below what this run can tell")
        else:
            ratios.append(f"{name}: Folio / vipsthumbnail {r['vipsthumbnail'][0] / folio:.2f}, "
                          f"Folio / convert {r['convert'][0] / folio:.2f}")
    table("Image thumbnails at 256 px", ["images", "tool", "ms an image", "peak MiB"], rows)
    print("\n" + "; ".join(ratios) + " (images a second)")


def records(output):
    return [json.loads(line) for line in output.decode().splitlines() if line.strip().startswith("{")]


def bench_ocr(a, entries):
    images = [e for e in entries if "ocr" in e.get("kind", []) and e["format"] != "pdf" and not e["expected_error"]]
    files = [e["file"] for e in images]
    pages = sum(e["expected_pages"] for e in images)
    r = alternate(a.rounds, {
        "folio": lambda: run(folio_extract(a.folio, files, text=True)),
        "tesseract": lambda: run_each([["tesseract", str(f), "-", "-l", "eng"] for f in files]),
    })
    texts = [rec.get("text") or "" for rec in records(r["folio"][2])]
    f1 = [word_f1(t, o.decode(errors="replace")) for t, o in zip(texts, r["tesseract"][2])]
    pps = {k: pages / v[0] for k, v in r.items()}
    table(f"OCR: {len(files)} images of text, {pages} pages", ["tool", "median s", "pages/s", "peak MiB"],
          [[k, f"{v[0]:.2f}", f"{pps[k]:.2f}", f"{v[1]:.0f}"] for k, v in r.items()])
    print(f"\nFolio / tesseract, pages a second: {pps['folio'] / pps['tesseract']:.2f}; "
          f"their words agree (word-F1, mean over files): {statistics.mean(f1):.3f}")


# Pages of English text PDFs made into images of text, with the text known: the page as pdftotext reads it is
# the transcription. Each page twice: "clean" (300 dpi greyscale, as a good scanner gives) and "scanned"
# (200 dpi, turned 1.5 degrees, Gaussian noise, as an office copier or a phone gives).
TRUTH_PAGES = [
    ("pypdf__pdflatex-4-pages.pdf", 2), ("pypdf__google-doc-document.pdf", 1), ("tika__testPDF.pdf", 1),
    ("pdfjs__pdfjs_wikipedia.pdf", 1), ("pdfjs__tracemonkey.pdf", 1), ("pdfjs__tracemonkey.pdf", 5),
    ("tika__testPDF_childAttachments.pdf", 3), ("pdfjs__freeculture.pdf", 20), ("pdfjs__freeculture.pdf", 100),
    ("tl-base__source2e.pdf", 30), ("tl-base__source2e.pdf", 400), ("pdfjs__pdkids.pdf", 10),
]


def truth_pages(a):
    """Makes the images and their transcriptions once (kept in --work): [(variant, image, transcription)]."""
    work = Path(a.work) / "ocr-truth"
    work.mkdir(exist_ok=True)
    made = []
    for name, page in TRUTH_PAGES:
        pdf = a.corpus / "dev" / "pdf" / name
        stem = f"{Path(name).stem}-p{page}"
        truth = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True,
                               text=True, check=True).stdout
        clean = work / f"{stem}-clean.png"
        if not clean.exists():
            subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "300", "-gray", "-png",
                            "-singlefile", str(pdf), str(clean.with_suffix(""))], check=True)
        scanned = work / f"{stem}-scanned.png"
        if not scanned.exists():
            subprocess.run([CONVERT, str(clean), "-resize", "66.7%", "-background", "white", "-rotate", "1.5",
                            "-seed", "7", "-attenuate", "0.6", "+noise", "Gaussian", "-colorspace", "Gray",
                            str(scanned)], check=True)
        made += [("clean", clean, truth), ("scanned", scanned, truth)]
    return made


def word_recall(candidate, reference):
    a, b = words(candidate), words(reference)
    return sum((a & b).values()) / max(1, sum(b.values()))


def bench_ocr_truth(a):
    pages = truth_pages(a)
    rows, ratios = [], []
    for variant in ["clean", "scanned"]:
        chosen = [(f, t) for v, f, t in pages if v == variant]
        files = [f for f, _ in chosen]
        r = alternate(a.rounds, {
            "folio": lambda: run(folio_extract(a.folio, files, text=True)),
            "tesseract": lambda: run_each([["tesseract", str(f), "-", "-l", "eng"] for f in files]),
        })
        outputs = {
            "folio": [rec.get("text") or "" for rec in records(r["folio"][2])],
            "tesseract": [o.decode(errors="replace") for o in r["tesseract"][2]],
        }
        f1 = {k: statistics.mean(word_f1(o, t) for o, (_, t) in zip(v, chosen)) for k, v in outputs.items()}
        recall = {k: statistics.mean(word_recall(o, t) for o, (_, t) in zip(v, chosen)) for k, v in outputs.items()}
        pps = {k: len(files) / v[0] for k, v in r.items()}
        for k, v in r.items():
            rows.append([variant, k, f"{v[0]:.2f}", f"{pps[k]:.2f}", f"{f1[k]:.3f}", f"{recall[k]:.3f}", f"{v[1]:.0f}"])
        ratios.append(f"{variant}: Folio / tesseract, pages a second {pps['folio'] / pps['tesseract']:.2f}, "
                      f"word-F1 {f1['folio'] / f1['tesseract']:.3f}")
    table(f"OCR against transcriptions: {len(TRUTH_PAGES)} pages of English text PDFs as images "
          "(the transcription is pdftotext's reading of the page)",
          ["pages", "tool", "median s", "pages/s", "word-F1", "words found", "peak MiB"], rows)
    print("\n" + "; ".join(ratios))


LINGUA = """
import json, sys, time
from lingua import IsoCode639_1, LanguageDetectorBuilder
samples = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
codes = sorted({s["lang"] for s in samples})
languages = [getattr(IsoCode639_1, c.upper()) for c in codes]
detector = LanguageDetectorBuilder.from_iso_codes_639_1(*languages).with_preloaded_language_models().build()
kinds = {}
for s in samples:
    start = time.perf_counter()
    got = detector.detect_language_of(s["text"])
    took = time.perf_counter() - start
    k = kinds.setdefault(s.get("kind", "all"), {"samples": 0, "correct": 0, "seconds": 0.0})
    k["samples"] += 1
    k["correct"] += got is not None and got.iso_code_639_1.name.lower() == s["lang"]
    k["seconds"] += took
print(json.dumps({"samples": len(samples), "correct": sum(k["correct"] for k in kinds.values()),
                  "seconds": sum(k["seconds"] for k in kinds.values()), "kinds": kinds}))
"""


def folio_language(out):
    """`folio eval-language`'s answer: {kind: (correct, samples, µs a sample)} and the whole (correct, samples, ms)."""
    kinds = {m.group(1): (int(m.group(2)), int(m.group(3)), float(m.group(4)))
             for m in re.finditer(r"^  (\S+)\s+(\d+)/(\d+) \([0-9.]+%\), ([0-9.]+) µs a sample", out, re.M)}
    correct = re.search(r"correct\s+(\d+)/(\d+)", out)
    spent = re.search(r"time\s+([0-9.]+) ms in all", out)
    return kinds, (int(correct.group(1)), int(correct.group(2)), float(spent.group(1)))


def bench_lang(a):
    samples = a.corpus / "lang_dev.jsonl"
    folio_runs, lingua_runs = [], []
    for r in range(a.rounds):
        sides = [("folio", lambda: folio_language(subprocess.run([a.folio, "eval-language", str(samples)],
                                                                  capture_output=True, text=True, check=True).stdout)),
                 ("lingua", lambda: json.loads(subprocess.run([sys.executable, "-c", LINGUA, str(samples)],
                                                              capture_output=True, text=True, check=True).stdout))]
        for name, side in (sides if r % 2 == 0 else sides[::-1]):
            (folio_runs if name == "folio" else lingua_runs).append(side())
    rows = []
    kinds = sorted(folio_runs[0][0])
    for kind in kinds + ["all"]:
        if kind == "all":
            ok, n, _ = folio_runs[0][1]
            f_us = statistics.median(r[1][2] * 1000 / n for r in folio_runs)
            l_ok = lingua_runs[0]["correct"]
            l_us = statistics.median(r["seconds"] * 1e6 / r["samples"] for r in lingua_runs)
        else:
            ok, n, _ = folio_runs[0][0][kind]
            f_us = statistics.median(r[0][kind][2] for r in folio_runs)
            lk = lingua_runs[0]["kinds"][kind]
            l_ok = lk["correct"]
            l_us = statistics.median(r["kinds"][kind]["seconds"] * 1e6 / r["kinds"][kind]["samples"] for r in lingua_runs)
        rows.append([kind, n, f"{ok / n:.1%}", f"{f_us:.0f}", f"{l_ok / n:.1%}", f"{l_us:.0f}",
                     f"{ok / max(l_ok, 1):.3f}", f"{l_us / f_us:.1f}x"])
    table("Language: lang_dev.jsonl by kind of sample (detection time only, models loaded; medians of the rounds)",
          ["kind", "samples", "Folio correct", "Folio µs a sample", "lingua correct", "lingua µs a sample",
           "accuracy Folio / lingua", "speed Folio / lingua"], rows)


EXTRACTOUS = """
import sys
from extractous import Extractor, PdfOcrStrategy, PdfParserConfig
extractor = Extractor()
if sys.argv[1] == "no-ocr":
    extractor = extractor.set_pdf_config(PdfParserConfig().set_ocr_strategy(PdfOcrStrategy.NO_OCR))
errors = 0
for path in sys.argv[2:]:
    try:
        extractor.extract_file_to_string(path)
    except Exception:
        errors += 1
print(errors)
"""


def bench_docs(a, entries):
    docs = [e for e in entries if e["format"] in ("pdf", "docx") and not e["expected_error"]
            and not {"scanned", "no-text-layer", "encrypted"} & set(e.get("kind", []))]
    files = [str(e["file"]) for e in docs]
    r = alternate(a.rounds, {
        "folio": lambda: run(folio_extract(a.folio, files)),
        "extractous, OCR off": lambda: run([sys.executable, "-c", EXTRACTOUS, "no-ocr"] + files),
    })
    # Its default (Tika's AUTO OCR strategy, Tesseract on pages it judges short of text) takes minutes: once.
    r["extractous, default (OCR auto)"] = run([sys.executable, "-c", EXTRACTOUS, "default"] + files)
    errors = {k: int(v[2].decode().strip() or 0) for k, v in r.items() if k != "folio"}
    errors["folio"] = sum(1 for rec in records(r["folio"][2]) if rec.get("error"))
    dps = {k: len(files) / v[0] for k, v in r.items()}
    table(f"Whole documents: {len(files)} PDF and DOCX files with a text layer (extractous' default run once)",
          ["tool", "median s", "documents/s", "peak MiB", "files it failed on"],
          [[k, f"{v[0]:.2f}", f"{dps[k]:.1f}", f"{v[1]:.0f}", errors[k]] for k, v in r.items()])
    for k in r:
        if k != "folio":
            print(f"\nFolio / {k}: documents a second {dps['folio'] / dps[k]:.2f}, peak memory {r['folio'][1] / r[k][1]:.2f}")


def docx_files(entries):
    return [e["file"] for e in entries if e["format"] == "docx" and not e["expected_error"]
            and "encrypted" not in e.get("kind", [])]


def bench_office(a, entries):
    """Issue 24: the corpus's DOCX rendered by LibreOffice (the first page at 256 px, and the page count where
    app.xml has none), one file at a time: `folio extract --jobs 1` with LibreOffice kept running between
    documents (the default, `extract.libreoffice_conversions = 50`) and started for each
    (`libreoffice_conversions = 0`). The time of one DOCX is its record's `elapsed_ms` (parse, rendering,
    thumbnail); the first document of a warm run also pays LibreOffice's start."""
    files = docx_files(entries)
    cold = Path(tempfile.mkdtemp(dir=a.work)) / "cold-office.toml"
    cold.write_text("[extract]\nlibreoffice_conversions = 0\n")
    out = Path(tempfile.mkdtemp(dir=a.work))

    def folio(config=None):
        cmd = [a.folio, "extract", "--jobs", "1", "--json", "--thumbnail-sizes", "256", "--thumbnails", str(out),
               "--libreoffice", "auto"] + [str(f) for f in files]
        return run((["env", f"FOLIO_CONFIG={config}"] if config else []) + cmd)

    r = alternate(a.rounds, {
        "folio, LibreOffice kept running": lambda: folio(),
        "folio, a LibreOffice a document": lambda: folio(cold),
    })
    rows = []
    for name, (seconds, peak, output) in r.items():
        recs = [rec for rec in records(output) if not rec.get("error")]
        rendered = [rec.get("elapsed_ms", 0) for rec in recs if rec.get("thumbnails")]
        rows.append([name, len(files), len(rendered), f"{seconds:.2f}", f"{len(files) / seconds:.1f}",
                     f"{statistics.median(rendered):.0f}" if rendered else "-",
                     f"{max(rendered):.0f}" if rendered else "-", f"{peak:.0f}"])
    table(f"DOCX renderings: {len(files)} DOCX, one at a time",
          ["LibreOffice", "files", "rendered", "median s (run)", "documents/s", "median ms a rendered DOCX",
           "max ms", "peak MiB"], rows)


def photograph_files(entries):
    return [e["file"] for e in entries if e["format"] in ("jpeg", "webp", "png", "tiff", "gif") and not e["expected_error"]
            and not {"ocr", "text-in-image", "photo-of-text", "graphic", "scanned"} & set(e.get("kind", []))]


def large_photographs(work, entries):
    """Two photographs of 12 megapixels, as phones take them: the corpus's cat (no text) and first EXIF
    landscape (words painted on it), enlarged with Pillow (bicubic); made once in `work`."""
    from PIL import Image
    made = []
    for name, size in [("imagers__cat.jpg", (4032, 3024)), ("exif__Landscape_1.jpg", (4000, 2667))]:
        source = next((e["file"] for e in entries if Path(e["file"]).name == name), None)
        if source is None:
            continue
        path = Path(work) / f"12mp-{name}"
        if not path.exists():
            Image.open(source).convert("RGB").resize(size, Image.BICUBIC).save(path, quality=90)
        made.append(path)
    return made


def bench_photos(a, entries):
    """Issue 24: what a photograph costs above decoding and thumbnails when nobody said it is one: `folio
    extract --jobs 1` with the default thumbnails (256 and 1024 px), OCR as for an undeclared image (the look
    for rows of letters, then OCR where it finds some) against `--no-ocr` (as for a declared photograph).
    Per photograph: the difference of the records' `elapsed_ms`, median over the rounds. The corpus's images,
    and two of 12 megapixels made from them ([`large_photographs`])."""
    files = photograph_files(entries) + large_photographs(a.work, entries)
    out = Path(tempfile.mkdtemp(dir=a.work))
    base = [a.folio, "extract", "--jobs", "1", "--json", "--thumbnails", str(out)]
    times = {"ocr": [], "no-ocr": []}
    status = {}
    for r in range(a.rounds):
        for side in (["ocr", "no-ocr"] if r % 2 == 0 else ["no-ocr", "ocr"]):
            _, _, output = run(base + (["--no-ocr"] if side == "no-ocr" else []) + [str(f) for f in files])
            recs = records(output)
            times[side].append({rec["path"]: rec.get("elapsed_ms", 0) for rec in recs})
            if side == "ocr":
                status = {rec["path"]: rec.get("ocr") for rec in recs}
    rows = []
    extra = []
    for f in files:
        with_ocr = statistics.median(t[str(f)] for t in times["ocr"])
        without = statistics.median(t[str(f)] for t in times["no-ocr"])
        extra.append(with_ocr - without)
        rows.append([Path(f).name, f"{without:.0f}", f"{with_ocr:.0f}", f"{with_ocr - without:.0f}", status.get(str(f))])
    table(f"Photographs: {len(files)} images that are not of text, undeclared, one at a time",
          ["file", "ms, no OCR (decode, thumbnails)", "ms, as undeclared", "ms added", "ocr"], rows)
    print(f"\nAdded to a photograph by the look (and OCR where it ran): median {statistics.median(extra):.0f} ms, "
          f"max {max(extra):.0f} ms")


# Kreuzberg (PyPI `kreuzberg`, MIT), its OCR on with Tesseract and English, in one Python process: one JSON
# line per file (its text), then the files it failed on.
KREUZBERG = r"""
import json, sys
import kreuzberg
config = kreuzberg.ExtractionConfig(use_cache=False, ocr=kreuzberg.OcrConfig(backend="tesseract", language="eng"))
failed = 0
for path in sys.argv[1:]:
    try:
        text = kreuzberg.extract_file_sync(path, config=config).content
    except Exception:
        text, failed = "", failed + 1
    print(json.dumps({"path": path, "text": text}))
print(json.dumps({"failed": failed}))
"""


def docx_text(path):
    """A DOCX's paragraphs and table cells (python-docx), the reference its extraction is scored against."""
    import docx
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def texts_of(output, key="text"):
    """path -> text from JSON lines (`folio extract --json --text`, or the Kreuzberg script)."""
    return {r["path"]: r.get(key) or "" for r in records(output) if "path" in r}


def run_kreuzberg(paths):
    """Kreuzberg on `paths` in one Python process, its OCR cache emptied first: it keeps OCR results in
    ~/.cache/kreuzberg/ocr whatever `use_cache` says, and the same files come back in each round and in the
    mixed call."""
    shutil.rmtree(Path.home() / ".cache" / "kreuzberg", ignore_errors=True)
    return run([sys.executable, "-c", KREUZBERG] + paths)


def bench_kreuzberg(a, entries, sets=True):
    """Issue 24: Folio beside Kreuzberg 4 with its OCR on (Tesseract, English), on the corpus's text PDFs, its
    DOCX and the OCR set (the ocr-truth pages), each scored by word-F1 against a reference (pdftotext for the
    PDFs, python-docx for the DOCX, the pages' transcriptions for the OCR set); and a mixed catalogue
    through `folio process`, in a call's proportions (that alone with `sets=False`: `--only mixed`)."""
    try:
        import kreuzberg  # noqa: F401
        import docx  # noqa: F401
    except ImportError:
        print("\nkreuzberg or python-docx is missing: python3 -m pip install kreuzberg python-docx", file=sys.stderr)
        return
    # Contributions' sizes: the call's limit is 10 pages (Kreuzberg with OCR on takes many minutes over the
    # corpus's 1,221-page book).
    pdfs = [e["file"] for e in text_pdfs(entries) if e["expected_pages"] <= 10]
    docxs = [e["file"] for e in entries if e["format"] == "docx" and not e["expected_error"]
             and "encrypted" not in e.get("kind", [])]
    truth = truth_pages(a)
    sets = {} if not sets else {
        "text PDFs (at most 10 pages)": (pdfs, {str(f): subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True).stdout
                             for f in pdfs}),
        "DOCX": (docxs, {str(f): docx_text(f) for f in docxs}),
        "OCR set (pages as images)": ([p for _, p, _ in truth], {str(p): t for _, p, t in truth}),
    }
    rows = []
    for name, (files, reference) in sets.items():
        paths = [str(f) for f in files]
        r = alternate(a.rounds if name != "OCR set (pages as images)" else 1, {
            "folio": lambda: run([a.folio, "extract", "--jobs", "1", "--json", "--text", "--thumbnail-sizes", "none"]
                                 + paths),
            "kreuzberg (OCR on)": lambda: run_kreuzberg(paths),
        })
        for tool, (seconds, peak, out) in r.items():
            texts = texts_of(out)
            f1 = statistics.mean(word_f1(texts.get(pth, ""), reference[pth]) for pth in paths)
            rows.append([name, tool, len(paths), f"{seconds:.2f}", f"{len(paths) / seconds:.1f}", f"{f1:.3f}", f"{peak:.0f}"])
    if rows:
        table("Beside Kreuzberg 4 (OCR on, Tesseract, English), one file at a time",
              ["set", "tool", "files", "median s", "documents/s", "word-F1", "peak MiB"], rows)

    # A mixed catalogue in a call's proportions: 10 PDFs of at most 10 pages, 6 DOCX, 6 photographs, 3 scans.
    work = Path(tempfile.mkdtemp(dir=a.work)) / "call"
    work.mkdir()
    photos_ = [e["file"] for e in entries if e["format"] in ("jpeg", "webp") and not e["expected_error"]
               and not {"ocr", "text-in-image", "photo-of-text"} & set(e.get("kind", []))]
    small = [e["file"] for e in text_pdfs(entries) if e["expected_pages"] <= 10]
    chosen = ([(f, "text") for f in small[:10]] + [(f, "text") for f in docxs[:6]]
              + [(f, "photograph") for f in photos_[::max(1, len(photos_) // 6)][:6]] + [(p, "text") for _, p, _ in truth if "scanned" in p.name][:3])
    rows_csv = ["file,chapter,state,author,title,kind,role,modality,received,rights"]
    for n, (f, kind) in enumerate(chosen):
        name = f"{n:02d}-{Path(f).name}"
        shutil.copy(f, work / name)
        rows_csv.append(f"{name},one,Chile,Author {n},Contribution {n},{kind},both,bilateral,2012-02-01,CC BY 4.0")
    (work / "contributions.csv").write_text("\n".join(rows_csv) + "\n")
    (work / "catalogue.toml").write_text('title = "Bench"\ndeadline = "2012-04-30"\n\n[[chapters]]\nid = "one"\ntitle = "One"\n')
    files = [str(work / f"{n:02d}-{Path(f).name}") for n, (f, _) in enumerate(chosen)]
    rounds = max(1, a.rounds // 2)
    outs = Path(tempfile.mkdtemp(dir=a.work))
    counter = iter(range(1000))

    def folio_process():
        n = next(counter)
        # The workers' timing events (one a document), for the share of each document's time outside extraction.
        env = dict(os.environ, FOLIO_LOG="folio=warn,folio::timing=info", FOLIO_LOG_FORMAT="json")
        with open(outs / f"timing-{n}.jsonl", "wb") as log:
            return run([a.folio, "--data-dir", str(outs / f"data-{n}"), "process", str(work), "--out", str(outs / f"out-{n}")],
                       env=env, stderr=log)

    r = alternate(rounds, {
        "folio process (the whole bundle)": folio_process,
        "kreuzberg (OCR on, text only)": lambda: run_kreuzberg(files),
    })
    dps = {k: len(files) / v[0] for k, v in r.items()}
    table(f"A mixed call: {len(files)} files (10 PDFs, 6 DOCX, 6 photographs, 3 scans)",
          ["tool", "median s", "documents/s", "peak MiB"],
          [[k, f"{v[0]:.2f}", f"{dps[k]:.1f}", f"{v[1]:.0f}"] for k, v in r.items()])
    print(f"\nFolio / Kreuzberg, documents a second: {dps['folio process (the whole bundle)'] / dps['kreuzberg (OCR on, text only)']:.2f}")
    # As the end-to-end benches say it (benches/support/timing.rs): a document's time in a worker, delivery to
    # acknowledgement less its wait for a parser, and the part of it outside the parser's own work.
    for n, path in enumerate(sorted(outs.glob("timing-*.jsonl"), key=lambda p: int(p.stem.split("-")[1]))):
        shares, handled = [], []
        for line in path.read_text(errors="replace").splitlines():
            if '"document handled"' not in line:
                continue
            event = json.loads(line)
            ms = lambda k: float(event.get(k) or 0.0)
            document = ms("document_ms") - ms("wait_ms")
            if document > 0:
                handled.append(document)
                shares.append(min(1.0, max(0.0, (document - ms("extract_ms")) / document)))
        if shares:
            print(f"folio process run {n + 1}: {len(shares)} documents, in a worker median {statistics.median(handled):.1f} ms; "
                  f"outside extraction, median document {100 * statistics.median(shares):.1f}%")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    p.add_argument("--folio", default="target/release/folio")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="text,small,render,thumbs,ocr,ocr-truth,lang,docs,kreuzberg,office,photos")
    p.add_argument("--work", default=None, help="scratch folder (the 24 MP photos are kept there)")
    a = p.parse_args()
    a.work = a.work or tempfile.mkdtemp(prefix="folio-compare-")
    Path(a.work).mkdir(parents=True, exist_ok=True)
    only = set(a.only.split(","))
    entries = manifest(a.corpus)
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; rounds: {a.rounds}")
    for tool in ["pdftotext", "pdftoppm", "tesseract", "vipsthumbnail", CONVERT]:
        if not shutil.which(tool):
            print(f"{tool} is missing: see the set-up at the top of this file", file=sys.stderr)
    if "text" in only:
        bench_text(a, entries)
    if "small" in only:
        bench_small(a, entries)
    if "render" in only:
        bench_render(a, entries, None)
    if "thumbs" in only:
        bench_thumbs(a, entries)
    if "ocr" in only:
        bench_ocr(a, entries)
    if "ocr-truth" in only:
        bench_ocr_truth(a)
    if "lang" in only:
        bench_lang(a)
    if "docs" in only:
        bench_docs(a, entries)
    if "kreuzberg" in only or "mixed" in only:
        bench_kreuzberg(a, entries, sets="kreuzberg" in only)
    if "office" in only:
        bench_office(a, entries)
    if "photos" in only:
        bench_photos(a, entries)


if __name__ == "__main__":
    main()
