#!/usr/bin/env python3
"""Writes manifest.jsonl for the files this corpus adds to ../shared/corpus/dev (issue 22): public test-suite
files kept here (tiff/, office/) and the project's own fixtures (referenced where they are, not copied).
Sizes and hashes are computed; expectations are written below, each checked by hand (see README.md)."""
import hashlib, json, os

PILLOW = ("python-pillow/Pillow@11.0.0 (PyPI sdist pillow-11.0.0.tar.gz)", "Tests/images/", "MIT-CMU (HPND)")
TIKA = ("apache/tika@2b70202aaec3db48fd5ff4d996d974444a750a11", "tika-parsers/.../src/test/resources/test-documents/",
        "Apache-2.0")
OWN = ("folio (this repository)", "", "CC0-1.0")
FIX = "../../services/folio-extract/tests/fixtures/"

# (path, source, format, pages, language, kind, notes)
FILES = [
    ("tiff/pillow__hopper_g4.tif", PILLOW, "tiff", 1, None, ["photo"], "CCITT G4 bilevel photograph"),
    ("tiff/pillow__g4-multi.tiff", PILLOW, "tiff", 3, None, ["multi-page", "sparse-text"], "3 pages of G4, a page number on each"),
    ("tiff/pillow__pport_g4.tif", PILLOW, "tiff", 1, "en", ["scanned"], "G4 scan of a US passport instructions page, 300 dpi"),
    (FIX + "tiff/pillow/g4-fillorder-test.tif", PILLOW, "tiff", 1, None, ["fill-order", "sparse-text"], "G4, FillOrder 2 (least significant bit first): '26 of 27'"),
    ("tiff/pillow__tiff_strip_ycbcr_jpeg_2x2_sampling.tif", PILLOW, "tiff", 1, None, ["photo"], "JPEG in TIFF, YCbCr 2x2"),
    ("tiff/pillow__hopper_jpg.tif", PILLOW, "tiff", 1, None, ["photo"], "JPEG in TIFF"),
    ("tiff/pillow__hopper_lzw.tif", PILLOW, "tiff", 1, None, ["photo"], "LZW RGB"),
    ("tiff/pillow__12bit.cropped.tif", PILLOW, "tiff", 1, None, ["high-bit-depth"], "12-bit grey in 16-bit samples"),
    ("tiff/pillow__16bit.cropped.tif", PILLOW, "tiff", 1, None, ["high-bit-depth"], "16-bit grey"),
    ("tiff/pillow__hopper_gray_4bpp.tif", PILLOW, "tiff", 1, None, ["photo"], "4-bit grey"),
    ("tiff/pillow__multipage.tiff", PILLOW, "tiff", 3, None, ["multi-page"], "3 frames of 10x10 palette"),
    ("office/tika__testWORD.doc", TIKA, "doc", 2, "en", ["legacy-office"], "Word 97-2003: headings, tables, nested table"),
    ("office/tika__testWORD_various.doc", TIKA, "doc", 2, "en", ["legacy-office"], "Word 97-2003: footnote, lists, hyperlink"),
    ("office/tika__testRTF.rtf", TIKA, "rtf", 1, None, ["legacy-office", "sparse-text"], "one French line: too short to name"),
    ("office/tika__testRTFJapanese.rtf", TIKA, "rtf", 1, "ja", ["legacy-office"], "Japanese newspaper text"),
    ("office/tika__testOpenOffice2.odt", TIKA, "odt", 1, "en", ["legacy-office"], "NeoOffice 2.2 document"),
    ("office/tika__testODTNoMeta.odt", TIKA, "odt", 1, None, ["legacy-office", "sparse-text"], "'Test text' only"),
    ("office/tika__testODTStyles2.odt", TIKA, "odt", 1, "nl", ["legacy-office"], "Dutch form with styles"),
    (FIX + "tiff/scan-g4.tif", OWN, "tiff", 1, "en", ["scanned"], "scan-en.png as CCITT G4"),
    (FIX + "tiff/scan-g3.tif", OWN, "tiff", 1, "en", ["scanned"], "scan-en.png as CCITT G3"),
    (FIX + "tiff/scan-2pages-g4.tif", OWN, "tiff", 2, None, ["scanned", "multi-page"], "English page then Spanish page, G4"),
    (FIX + "tiff/scan-ycbcr-jpeg.tif", OWN, "tiff", 1, "en", ["scanned"], "JPEG in TIFF, YCbCr"),
    (FIX + "tiff/scan-gray12.tif", OWN, "tiff", 1, "en", ["scanned", "high-bit-depth"], "12-bit grey, Deflate"),
    (FIX + "tiff/scan-gray4-miniswhite.tif", OWN, "tiff", 1, "en", ["scanned"], "4-bit grey, white is zero"),
    (FIX + "tiff/scan-palette1.tif", OWN, "tiff", 1, "en", ["scanned"], "1-bit palette"),
    (FIX + "scripts/hebrew-pointed.png", OWN, "png", 1, "he", ["ocr", "script"], "Hebrew with vowel points"),
    (FIX + "scripts/hindi.png", OWN, "png", 1, "hi", ["ocr", "script"], "Devanagari"),
    (FIX + "scripts/thai.png", OWN, "png", 1, "th", ["ocr", "script"], "Thai"),
    (FIX + "legacy/call-for-contributions.doc", OWN, "doc", 1, "en", ["legacy-office"], "the seed call as Word 97-2003"),
    (FIX + "legacy/call-for-contributions.odt", OWN, "odt", 1, "en", ["legacy-office"], "the seed call as OpenDocument"),
    (FIX + "legacy/call-for-contributions.rtf", OWN, "rtf", 1, "en", ["legacy-office"], "the seed call as RTF"),
    (FIX + "layers/scan-ru-wrong-layer.pdf", OWN, "pdf", 1, "ru", ["scanned", "lying-layer"], "Russian scan under an English-pack OCR layer"),
    (FIX + "layers/scan-en-good-layer.pdf", OWN, "pdf", 1, "en", ["scanned"], "English scan under a good OCR layer"),
    (FIX + "layers/text-photo-and-picture-of-text.pdf", OWN, "pdf", 1, "en", ["image-text"], "visible text, a photo, a picture of Spanish text"),
    (FIX + "layers/accents-drawn-apart.pdf", OWN, "pdf", 1, None, ["accents"], "accents drawn as glyphs of their own"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "manifest.jsonl"), "w") as out:
        for path, (repo, prefix, licence), fmt, pages, lang, kind, notes in FILES:
            data = open(os.path.join(here, path), "rb").read()
            name = os.path.basename(path).split("__", 1)[-1]
            if repo == PILLOW[0] and path.startswith(FIX):
                repo, prefix = PILLOW[0], PILLOW[1]
            line = {"path": path, "source_repo": repo, "source_path": prefix + name if prefix else path.replace("../../", ""),
                    "license": licence, "format": fmt, "expected_pages": pages, "expected_language": lang,
                    "expected_error": False, "notes": notes, "kind": kind, "size_bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest()}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
