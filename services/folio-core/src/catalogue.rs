//! `catalogue.toml`: the catalogue's title, deadline, chapters in order, and the settings of its rules.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The whole of `catalogue.toml`. Every field has a default, so an absent file is an empty catalogue whose
/// chapters come from the CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogueConfig {
    pub title: String,
    /// Contributions received after this day are late.
    pub deadline: Option<NaiveDate>,
    pub chapters: Vec<ChapterConfig>,
    pub rules: RuleSettings,
}

impl Default for CatalogueConfig {
    fn default() -> Self {
        Self {
            title: "Catalogue of best practices".into(),
            deadline: None,
            chapters: Vec::new(),
            rules: RuleSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChapterConfig {
    /// What the CSV's `chapter` column names.
    pub id: String,
    pub title: String,
}

/// The rules of the call, with the call's values as defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSettings {
    /// Languages a text or testimonial may be written in (ISO 639-1).
    pub languages: Vec<String>,
    /// Most pages a text or testimonial may have.
    pub max_pages: u32,
    /// Whether every contribution must name an author.
    pub require_author: bool,
    /// Whether every contribution must have its rights cleared.
    pub require_rights: bool,
    /// Whether a late contribution is left out (`true`) or only flagged (`false`).
    pub late_is_blocking: bool,
    /// Below this confidence a detected language is not trusted enough to leave a contribution out: the
    /// finding becomes a warning for an editor to confirm.
    pub min_language_confidence: f64,
}

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            languages: vec!["en".into()],
            max_pages: 10,
            require_author: true,
            require_rights: true,
            late_is_blocking: true,
            min_language_confidence: 0.5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("catalogue.toml: {0}")]
pub struct CatalogueConfigError(String);

impl CatalogueConfig {
    pub fn from_toml(text: &str) -> Result<Self, CatalogueConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| CatalogueConfigError(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for chapter in &config.chapters {
            if chapter.id.trim().is_empty() {
                return Err(CatalogueConfigError("a chapter has an empty id".into()));
            }
            if !seen.insert(chapter.id.as_str()) {
                return Err(CatalogueConfigError(format!("chapter id '{}' appears twice", chapter.id)));
            }
        }
        if config.rules.languages.is_empty() {
            return Err(CatalogueConfigError("rules.languages must name at least one language".into()));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_example_with_defaults_for_rules() {
        let cfg = CatalogueConfig::from_toml(
            r#"
title = "Catalogue of best practices in cooperation and assistance"
deadline = "2012-04-30"
[[chapters]]
id = "clearance-lebanon"
title = "Clearance partnership in South Lebanon"
"#,
        )
        .unwrap();
        assert_eq!(cfg.deadline, NaiveDate::from_ymd_opt(2012, 4, 30));
        assert_eq!(cfg.chapters.len(), 1);
        assert_eq!(cfg.rules.max_pages, 10);
        assert_eq!(cfg.rules.languages, vec!["en".to_string()]);
    }

    #[test]
    fn rejects_duplicates_typos_and_empty_languages() {
        let dup = "[[chapters]]\nid='a'\ntitle='A'\n[[chapters]]\nid='a'\ntitle='B'\n";
        assert!(CatalogueConfig::from_toml(dup).unwrap_err().to_string().contains("twice"));
        assert!(CatalogueConfig::from_toml("titel = 'x'").is_err(), "unknown keys are errors, not ignored");
        assert!(CatalogueConfig::from_toml("[rules]\nlanguages = []").is_err());
        let rules = CatalogueConfig::from_toml("[rules]\nmax_pages = 4\nlanguages=['en','fr']").unwrap().rules;
        assert_eq!(rules.max_pages, 4);
        assert!(rules.require_rights);
    }
}
