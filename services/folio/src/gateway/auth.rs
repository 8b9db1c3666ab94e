//! Bearer tokens with scopes. Each token has a name (what editors' decisions are signed with), a scope and a
//! secret; a wider scope may do what a narrower one may. Reading needs a token of any scope; with no token
//! configured at all, the API is open (the gateway warns at start).

use super::problem::Problem;
use axum::http::{header, HeaderMap, StatusCode};
use subtle::ConstantTimeEq;

/// What a token may do; each scope may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Upload contributions.
    Uploader,
    /// Also waive findings, exclude contributions, assemble the catalogue.
    Editor,
    /// Also create and change catalogues.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploader => "uploader",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Uploader, Self::Editor, Self::Admin].into_iter().find(|scope| scope.as_str() == s)
    }
}

/// The shortest secret accepted.
pub const MIN_SECRET_CHARS: usize = 12;

#[derive(Clone)]
pub struct Token {
    pub name: String,
    pub scope: Scope,
    secret: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}:{}:<hidden>)", self.name, self.scope.as_str())
    }
}

impl Token {
    pub fn new(name: &str, scope: Scope, secret: &str) -> Result<Self, String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)) {
            return Err(format!("token name '{name}': letters, digits and - _ . @ only"));
        }
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(format!("token '{name}': the secret needs at least {MIN_SECRET_CHARS} characters"));
        }
        Ok(Self { name: name.to_string(), scope, secret: secret.to_string() })
    }

    /// `NAME:SCOPE:SECRET` (the secret may hold `:`).
    pub fn parse(entry: &str) -> Result<Self, String> {
        let mut parts = entry.splitn(3, ':');
        let (Some(name), Some(scope), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("a token is NAME:SCOPE:SECRET".into());
        };
        let scope = Scope::parse(scope)
            .ok_or_else(|| format!("token '{name}': scope '{scope}' is not uploader, editor or admin"))?;
        Self::new(name, scope, secret)
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub scope: Scope,
}

/// The caller of a request that needs `needed` (`None`: any scope, for reading).
pub fn authorise(tokens: &[Token], headers: &HeaderMap, needed: Option<Scope>) -> Result<Caller, Problem> {
    if tokens.is_empty() {
        return Ok(Caller { name: "anonymous".into(), scope: Scope::Admin });
    }
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "Token needed",
            "send `Authorization: Bearer TOKEN` with a token the operator gave you",
        ));
    };
    // Every token is compared, in constant time each, so the time taken says nothing of which one matched.
    let matched =
        tokens.iter().fold(
            None,
            |found, t| {
                if bool::from(given.as_bytes().ct_eq(t.secret.as_bytes())) {
                    Some(t)
                } else {
                    found
                }
            },
        );
    let Some(token) = matched else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "Unknown token",
            "the bearer token is not one of the gateway's",
        ));
    };
    match needed {
        Some(needed) if token.scope < needed => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            format!(
                "this needs a token with the {} scope; token '{}' is an {} token",
                needed.as_str(),
                token.name,
                token.scope.as_str()
            ),
        )),
        _ => Ok(Caller { name: token.name.clone(), scope: token.scope }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn scopes_nest_and_each_refusal_has_its_status() {
        let tokens = [
            Token::parse("portal:uploader:uploader-secret-1").unwrap(),
            Token::parse("ana:editor:editor-secret-22:with-colon").unwrap(),
        ];
        let editor = authorise(&tokens, &headers("editor-secret-22:with-colon"), Some(Scope::Uploader)).unwrap();
        assert_eq!(editor, Caller { name: "ana".into(), scope: Scope::Editor });
        let e = authorise(&tokens, &headers("uploader-secret-1"), Some(Scope::Editor)).unwrap_err();
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert_eq!(authorise(&tokens, &HeaderMap::new(), None).unwrap_err().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            authorise(&tokens, &headers("guess-guess-guess"), None).unwrap_err().status(),
            StatusCode::UNAUTHORIZED
        );
        assert!(authorise(&tokens, &headers("uploader-secret-1"), None).is_ok(), "reading needs any scope");
        assert_eq!(authorise(&[], &HeaderMap::new(), Some(Scope::Admin)).unwrap().scope, Scope::Admin);
    }

    #[test]
    fn bad_entries_are_refused_with_a_reason() {
        for bad in [
            "portal:uploader",
            "portal:reader:long-enough-secret",
            "portal:uploader:short",
            "a b:admin:long-enough-secret",
        ] {
            assert!(Token::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{:?}", Token::parse("x:admin:long-enough-secret").unwrap()).contains("long-enough"));
    }
}
