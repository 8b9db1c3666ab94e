//! What changed between two builds of a catalogue. Each build keeps its [`BuildContents`] (in the database,
//! beside the build's number); the next build compares its own with them and writes the difference, a
//! [`BuildChanges`], into its manifest and its report.
//!
//! Contents are what an editor would call the catalogue's state: the chapters in their order, and for each
//! contribution its chapter, position, metadata, files (by SHA-256), what extraction made of them (a digest
//! of the records), the editors' decisions, and whether it is in the book. Contributions are matched by id,
//! which Folio derives from chapter, State, author and title: a contribution renamed is one removed and one
//! added.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The catalogue's state as one build saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildContents {
    /// Chapter keys in book order.
    pub chapters: Vec<String>,
    /// In book order.
    pub contributions: Vec<ContributionContents>,
}

/// One contribution as a build saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionContents {
    pub id: Uuid,
    pub title: String,
    pub chapter: String,
    pub state: String,
    pub author: String,
    /// SHA-256 of the rest of its row (kind, role, modality, date received, rights): a corrected row.
    pub metadata: String,
    /// Its documents: file name and SHA-256, sorted.
    pub files: Vec<(String, String)>,
    /// SHA-256 over its documents' states and records: what extraction made of the files.
    pub extraction: String,
    /// Finding codes an editor waived, sorted.
    pub waived: Vec<String>,
    /// Whether an editor excluded it.
    pub excluded: bool,
    pub included: bool,
    /// The Convention's areas it is indexed under (confirmed by an editor or suggested), and its modality.
    #[serde(default)]
    pub classification: Vec<String>,
}

/// One contribution in a change list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedContribution {
    pub id: Uuid,
    pub title: String,
    pub chapter: String,
    pub state: String,
    /// What changed, in words, where the list's name does not say it all (the files replaced, the
    /// findings waived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What changed since the previous build. Empty lists for the first build (`since` is then `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildChanges {
    /// The build compared with.
    pub since: Option<u32>,
    /// New contributions.
    pub added: Vec<ChangedContribution>,
    /// Contributions no longer in the catalogue's list.
    pub removed: Vec<ChangedContribution>,
    /// Contributions whose files changed: a new version sent, a file added or taken away.
    pub replaced: Vec<ChangedContribution>,
    /// The same files read again with a different result (a newer extractor, a password supplied).
    pub reprocessed: Vec<ChangedContribution>,
    /// Contributions whose row was corrected (kind, role, modality, date received, rights).
    pub edited: Vec<ChangedContribution>,
    /// Findings an editor waived, or a contribution an editor excluded.
    pub waived: Vec<ChangedContribution>,
    /// Waivers and exclusions withdrawn.
    pub withdrawn: Vec<ChangedContribution>,
    /// Contributions that are in the book now and were not.
    pub now_included: Vec<ChangedContribution>,
    /// Contributions that were in the book and are left out now.
    pub now_left_out: Vec<ChangedContribution>,
    /// Contributions that moved within their chapter or to another chapter.
    pub moved: Vec<ChangedContribution>,
    /// Contributions whose areas or modality changed (an editor confirmed or changed them).
    #[serde(default)]
    pub reclassified: Vec<ChangedContribution>,
    /// Whether the chapters' order (or the set of chapters) changed.
    pub chapters_reordered: bool,
}

impl BuildChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.lists().iter().all(|(_, list)| list.is_empty()) && !self.chapters_reordered
    }

    /// Each list with its heading, in the order the report shows them.
    pub fn lists(&self) -> [(&'static str, &Vec<ChangedContribution>); 11] {
        [
            ("Added", &self.added),
            ("Removed", &self.removed),
            ("Replaced", &self.replaced),
            ("Reprocessed", &self.reprocessed),
            ("Edited", &self.edited),
            ("Waived", &self.waived),
            ("Waivers withdrawn", &self.withdrawn),
            ("Now in the book", &self.now_included),
            ("Now left out", &self.now_left_out),
            ("Moved", &self.moved),
            ("Reclassified", &self.reclassified),
        ]
    }

    /// The changes from the build numbered `since`, whose contents were `before`, to `after`.
    pub fn between(since: u32, before: &BuildContents, after: &BuildContents) -> Self {
        let mut changes = BuildChanges { since: Some(since), ..Default::default() };
        changes.chapters_reordered = before.chapters != after.chapters;
        let old: BTreeMap<Uuid, &ContributionContents> = before.contributions.iter().map(|c| (c.id, c)).collect();
        let new_ids: BTreeSet<Uuid> = after.contributions.iter().map(|c| c.id).collect();
        let old_ids: BTreeSet<Uuid> = old.keys().copied().collect();
        // Positions within the chapter, to tell a move from a neighbour's arrival.
        let old_order = chapter_order(before);
        let new_order = chapter_order(after);

        for now in &after.contributions {
            let Some(&was) = old.get(&now.id) else {
                changes.added.push(changed(now, None));
                continue;
            };
            if was.files != now.files {
                changes.replaced.push(changed(now, Some(files_detail(&was.files, &now.files))));
            } else if was.extraction != now.extraction {
                changes.reprocessed.push(changed(now, None));
            }
            if was.metadata != now.metadata {
                changes.edited.push(changed(now, None));
            }
            if was.classification != now.classification {
                let detail = format!(
                    "now {}",
                    if now.classification.is_empty() {
                        "unclassified".to_string()
                    } else {
                        now.classification.join(", ")
                    }
                );
                changes.reclassified.push(changed(now, Some(detail)));
            }
            let granted: Vec<&str> = difference(&now.waived, &was.waived);
            let taken: Vec<&str> = difference(&was.waived, &now.waived);
            let mut waived: Vec<String> = granted.iter().map(|c| format!("waived: {c}")).collect();
            let mut withdrawn: Vec<String> = taken.iter().map(|c| format!("waiver withdrawn: {c}")).collect();
            match (was.excluded, now.excluded) {
                (false, true) => waived.push("excluded by an editor".into()),
                (true, false) => withdrawn.push("exclusion withdrawn".into()),
                _ => {}
            }
            if !waived.is_empty() {
                changes.waived.push(changed(now, Some(waived.join("; "))));
            }
            if !withdrawn.is_empty() {
                changes.withdrawn.push(changed(now, Some(withdrawn.join("; "))));
            }
            match (was.included, now.included) {
                (false, true) => changes.now_included.push(changed(now, None)),
                (true, false) => changes.now_left_out.push(changed(now, None)),
                _ => {}
            }
            if was.chapter != now.chapter {
                changes.moved.push(changed(now, Some(format!("from chapter {} to {}", was.chapter, now.chapter))));
            } else if relative_position(&old_order, was, &new_ids) != relative_position(&new_order, now, &old_ids) {
                changes.moved.push(changed(now, Some(format!("within chapter {}", now.chapter))));
            }
        }
        for was in &before.contributions {
            if !new_ids.contains(&was.id) {
                changes.removed.push(changed(was, None));
            }
        }
        changes
    }
}

fn changed(c: &ContributionContents, detail: Option<String>) -> ChangedContribution {
    ChangedContribution { id: c.id, title: c.title.clone(), chapter: c.chapter.clone(), state: c.state.clone(), detail }
}

fn difference<'a>(a: &'a [String], b: &[String]) -> Vec<&'a str> {
    a.iter().filter(|x| !b.contains(x)).map(String::as_str).collect()
}

fn files_detail(before: &[(String, String)], after: &[(String, String)]) -> String {
    let names = |files: &[(String, String)]| files.iter().map(|(n, _)| n.clone()).collect::<BTreeSet<_>>();
    let (old_names, new_names) = (names(before), names(after));
    let mut parts = Vec::new();
    for (name, sha) in after {
        match before.iter().find(|(n, _)| n == name) {
            None => parts.push(format!("{name} added")),
            Some((_, old)) if old != sha => parts.push(format!("{name} changed")),
            Some(_) => {}
        }
    }
    parts.extend(old_names.difference(&new_names).map(|n| format!("{n} taken away")));
    parts.join("; ")
}

fn chapter_order(contents: &BuildContents) -> BTreeMap<&str, Vec<Uuid>> {
    let mut order: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    for c in &contents.contributions {
        order.entry(c.chapter.as_str()).or_default().push(c.id);
    }
    order
}

/// A contribution's place in its chapter counting only the contributions present in both builds, so that
/// an addition or a removal beside it is not a move.
fn relative_position(order: &BTreeMap<&str, Vec<Uuid>>, c: &ContributionContents, common: &BTreeSet<Uuid>) -> usize {
    order
        .get(c.chapter.as_str())
        .map(|ids| ids.iter().filter(|id| common.contains(id)).position(|id| *id == c.id).unwrap_or(usize::MAX))
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contribution(n: u128, chapter: &str) -> ContributionContents {
        ContributionContents {
            id: Uuid::from_u128(n),
            title: format!("Contribution {n}"),
            chapter: chapter.into(),
            state: "Spain".into(),
            author: "An author".into(),
            metadata: "m".into(),
            files: vec![(format!("{n}.pdf"), format!("sha-{n}"))],
            extraction: format!("x-{n}"),
            waived: Vec::new(),
            excluded: false,
            included: true,
            classification: Vec::new(),
        }
    }

    fn contents(list: Vec<ContributionContents>) -> BuildContents {
        let mut chapters: Vec<String> = Vec::new();
        for c in &list {
            if !chapters.contains(&c.chapter) {
                chapters.push(c.chapter.clone());
            }
        }
        BuildContents { chapters, contributions: list }
    }

    fn ids(list: &[ChangedContribution]) -> Vec<u128> {
        list.iter().map(|c| c.id.as_u128()).collect()
    }

    #[test]
    fn the_same_contents_change_nothing() {
        let a = contents(vec![contribution(1, "a"), contribution(2, "a"), contribution(3, "b")]);
        let changes = BuildChanges::between(4, &a, &a.clone());
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(changes.since, Some(4));
    }

    #[test]
    fn each_kind_of_change_is_listed_once() {
        let before =
            contents(vec![contribution(1, "a"), contribution(2, "a"), contribution(3, "b"), contribution(4, "b")]);
        let mut after = before.clone();
        after.contributions.retain(|c| c.id != Uuid::from_u128(4)); // removed
        after.contributions.push(contribution(5, "b")); // added
        after.contributions[0].files[0].1 = "sha-1-revised".into(); // replaced
        after.contributions[1].extraction = "x-2-again".into(); // reprocessed
        after.contributions[1].waived = vec!["not_english".into()]; // waived, and so now in the book
        after.contributions[2].metadata = "m2".into(); // edited
        after.contributions[2].included = false; // and left out for it
        let mut waived_before = before.clone();
        waived_before.contributions[1].included = false;
        let changes = BuildChanges::between(1, &waived_before, &after);
        assert_eq!(ids(&changes.added), [5]);
        assert_eq!(ids(&changes.removed), [4]);
        assert_eq!(ids(&changes.replaced), [1]);
        assert_eq!(changes.replaced[0].detail.as_deref(), Some("1.pdf changed"));
        assert_eq!(ids(&changes.reprocessed), [2]);
        assert_eq!(ids(&changes.waived), [2]);
        assert_eq!(changes.waived[0].detail.as_deref(), Some("waived: not_english"));
        assert_eq!(ids(&changes.now_included), [2]);
        assert_eq!(ids(&changes.edited), [3]);
        assert_eq!(ids(&changes.now_left_out), [3]);
        assert!(changes.moved.is_empty(), "an arrival or a departure beside a contribution is not a move");
        assert!(!changes.chapters_reordered);
        assert!(changes.withdrawn.is_empty());
    }

    #[test]
    fn moves_withdrawals_and_reordered_chapters_are_seen() {
        let before = contents(vec![contribution(1, "a"), contribution(2, "a"), contribution(3, "b")]);
        let mut before_excluded = before.clone();
        before_excluded.contributions[2].excluded = true;
        before_excluded.contributions[2].included = false;
        // Chapter b first now; 2 before 1 within a; 3's exclusion withdrawn.
        let after = contents(vec![contribution(3, "b"), contribution(2, "a"), contribution(1, "a")]);
        let changes = BuildChanges::between(7, &before_excluded, &after);
        assert!(changes.chapters_reordered);
        assert_eq!(ids(&changes.moved), [2, 1]);
        assert_eq!(ids(&changes.withdrawn), [3]);
        assert_eq!(changes.withdrawn[0].detail.as_deref(), Some("exclusion withdrawn"));
        assert_eq!(ids(&changes.now_included), [3]);

        let mut moved = before.clone();
        moved.contributions[2].chapter = "a".into();
        let changes = BuildChanges::between(1, &before, &moved);
        assert_eq!(ids(&changes.moved), [3]);
        assert_eq!(changes.moved[0].detail.as_deref(), Some("from chapter b to a"));
        assert!(!changes.chapters_reordered, "the catalogue's chapters keep their order when a contribution moves");
    }

    #[test]
    fn files_added_and_taken_away_are_named() {
        let before = vec![("a.pdf".to_string(), "1".to_string()), ("b.png".to_string(), "2".to_string())];
        let after = vec![("a.pdf".to_string(), "1".to_string()), ("c.png".to_string(), "3".to_string())];
        assert_eq!(files_detail(&before, &after), "c.png added; b.png taken away");
    }
}
