//! A contribution's classification as the book, the manifest and the editors see it: Folio's suggestion from
//! its title, text and row ([`folio_core::classify`], each suggestion with its evidence), and, where an
//! editor confirmed or changed it, the editor's. The suggestion is computed whenever asked for (it is cheap
//! and follows the text); only confirmations are stored.

use folio_core::classify::{classify, Area, Classification, Input};
use folio_core::{ConfirmedClassification, Contribution};

/// What the book's index and the manifest use.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub areas: Vec<Area>,
    pub modality: Option<String>,
    pub role: Option<String>,
    /// The editor who confirmed it; `None` while it is Folio's suggestion.
    pub confirmed_by: Option<String>,
}

/// The most text a suggestion reads: ample for a contribution of at most 10 pages (about 60 KiB of text),
/// and a bound on what one request costs whatever a document holds.
pub const MAX_CLASSIFIED_BYTES: usize = 1 << 20;

/// Folio's suggestion for a contribution whose documents' text is `text` (its first
/// [`MAX_CLASSIFIED_BYTES`]).
pub fn suggest(contribution: &Contribution, text: &str) -> Classification {
    let mut end = text.len().min(MAX_CLASSIFIED_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    classify(&Input {
        title: &contribution.title,
        text: &text[..end],
        modality: Some(contribution.modality.as_str()),
        role: Some(contribution.role.as_str()),
        state: &contribution.state,
    })
}

/// The editor's confirmation where there is one, else the suggestion. Area ids an older Folio stored and
/// this one does not know are dropped.
pub fn effective(suggestion: &Classification, confirmed: Option<&ConfirmedClassification>) -> Effective {
    match confirmed {
        Some(c) => {
            let mut areas: Vec<Area> = c.areas.iter().filter_map(|a| Area::parse(a)).collect();
            areas.sort();
            areas.dedup();
            Effective {
                areas,
                modality: c.modality.clone(),
                role: c.role.clone(),
                confirmed_by: Some(c.decided_by.clone()),
            }
        }
        None => Effective {
            areas: suggestion.areas.iter().map(|a| a.area).collect(),
            modality: suggestion.modality.as_ref().map(|m| m.modality.clone()),
            role: suggestion.modality.as_ref().and_then(|m| m.role.clone()),
            confirmed_by: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use folio_core::classify::{AreaSuggestion, Evidence, EvidenceSource};

    fn suggestion() -> Classification {
        Classification {
            areas: vec![AreaSuggestion {
                area: Area::Clearance,
                score: 0.9,
                evidence: vec![Evidence {
                    phrase: "clearance".into(),
                    source: EvidenceSource::Title,
                    count: 1,
                    excerpt: "Clearance in South Lebanon".into(),
                }],
            }],
            modality: None,
        }
    }

    #[test]
    fn an_editors_confirmation_wins_over_the_suggestion() {
        let s = suggestion();
        assert_eq!(effective(&s, None).areas, [Area::Clearance]);
        assert_eq!(effective(&s, None).confirmed_by, None);
        let confirmed = ConfirmedClassification {
            contribution_id: uuid::Uuid::nil(),
            areas: vec!["victim_assistance".into(), "clearance".into(), "not_an_area".into()],
            modality: Some("bilateral".into()),
            role: Some("donor".into()),
            decided_by: "editor".into(),
            decided_at: "2026-12-05T00:00:00Z".into(),
        };
        let e = effective(&s, Some(&confirmed));
        assert_eq!(
            e.areas,
            [Area::Clearance, Area::VictimAssistance],
            "in the Convention's order, unknown ids dropped"
        );
        assert_eq!((e.modality.as_deref(), e.confirmed_by.as_deref()), (Some("bilateral"), Some("editor")));
    }
}
