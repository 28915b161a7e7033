//! API tokens: created (the token shown once, only its SHA-256 recorded), listed, revoked, and
//! turned back into the caller they identify.

use jiff::civil::Date;
use serde::Serialize;
use sha2::{Digest, Sha256};
use steadfast_domain::credential::DEFAULT_LIFETIME_DAYS;
use steadfast_domain::{
    Aggregate, Credential, Draft, Ledger, PartyId, Role, TokenId, TokenIssued, TokenRevoked,
};

use super::{Identity, Recorded, Service, ServiceError, recorded};
use crate::progress::Progress;
use crate::queries::LogHead;
use crate::storage::Access;

/// What a token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "sf_";

/// Create a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateToken {
    pub role: Role,
    /// The party a donor's or the recipient's liaison acts for.
    pub party: Option<PartyId>,
    /// Who holds it.
    pub holder: String,
    /// Its last day; by default [`DEFAULT_LIFETIME_DAYS`] after `today`.
    pub expires_on: Option<Date>,
    pub today: Date,
}

/// A created token: the secret (shown this once) and what was recorded of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedToken {
    pub secret: String,
    pub issued: TokenIssued,
    pub recorded: Recorded,
}

/// A token as listed: never the secret, nor its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenLine {
    pub token: TokenId,
    pub role: Role,
    pub party: Option<PartyId>,
    pub holder: String,
    pub issued_on: Date,
    pub expires_on: Date,
    pub revoked_on: Option<Date>,
    /// `active`, `expired` or `revoked`, on the day asked about.
    pub status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenList {
    pub log_head: LogHead,
    pub rows: Vec<TokenLine>,
}

/// Who a valid token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// As recorded with what the caller writes: `token:<id>`.
    pub identity: Identity,
    pub token: TokenId,
    pub role: Role,
    pub party: Option<PartyId>,
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A token's public name: `T-` and the first twelve hex digits of its SHA-256.
fn token_id(digest: &str) -> TokenId {
    TokenId::parse(&format!("T-{}", &digest[..12])).expect("hex digits make a valid id")
}

impl Service {
    /// Creates a token: 256 random bits from the operating system, recorded as its SHA-256
    /// with its role, party, holder and last day.
    pub fn create_token(
        &mut self,
        who: &Identity,
        cmd: CreateToken,
        progress: &Progress,
    ) -> Result<CreatedToken, ServiceError> {
        who.must_be(Role::Administrator, "creating a token")?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            ServiceError::from(crate::AppError::Invalid(format!(
                "the operating system gave no random bytes for a token: {e}"
            )))
        })?;
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        let digest = sha256_hex(&secret);
        let expires_on = match cmd.expires_on {
            Some(day) => day,
            None => cmd
                .today
                .checked_add(jiff::Span::new().days(DEFAULT_LIFETIME_DAYS))
                .map_err(|e| ServiceError::invalid_field("expires_on", e.to_string()))?,
        };
        let issued = TokenIssued {
            token: token_id(&digest),
            digest,
            role: cmd.role,
            party: cmd.party,
            holder: cmd.holder,
            issued_on: cmd.today,
            expires_on,
        };
        let command = issued.clone();
        let mut decide = |ledger: &Ledger| {
            let mut draft = Draft::new(ledger);
            let new = draft
                .issue_token(command.clone())
                .map_err(ServiceError::rejected)?;
            Ok((recorded(new, 1), draft.into_events()))
        };
        let recorded = self.decided_write(who, progress, &mut decide)?;
        Ok(CreatedToken {
            secret,
            issued,
            recorded,
        })
    }

    /// Every token issued, with its status on `today`.
    pub fn tokens(
        &mut self,
        who: &Identity,
        today: Date,
        progress: &Progress,
    ) -> Result<TokenList, ServiceError> {
        who.must_be(Role::Administrator, "listing the tokens")?;
        let app = self.ledger(Access::Read, progress)?;
        let rows = app
            .ledger()
            .credentials()
            .map(|c| TokenLine {
                token: c.issued.token.clone(),
                role: c.issued.role,
                party: c.issued.party.clone(),
                holder: c.issued.holder.clone(),
                issued_on: c.issued.issued_on,
                expires_on: c.issued.expires_on,
                revoked_on: c.revoked_on,
                status: status(c, today),
            })
            .collect();
        Ok(TokenList {
            log_head: LogHead::of(app.head()),
            rows,
        })
    }

    /// Revokes a token from `today` on; revoking it again changes nothing.
    pub fn revoke_token(
        &mut self,
        who: &Identity,
        token: TokenId,
        today: Date,
        progress: &Progress,
    ) -> Result<Recorded, ServiceError> {
        who.must_be(Role::Administrator, "revoking a token")?;
        let mut decide = |ledger: &Ledger| {
            let mut draft = Draft::new(ledger);
            let new = draft
                .revoke_token(TokenRevoked {
                    token: token.clone(),
                    revoked_on: today,
                })
                .map_err(|refused| match ledger.credential(&token) {
                    Some(_) => ServiceError::rejected(refused),
                    None => ServiceError::not_found(format!("no token {token} is issued")),
                })?;
            let version = ledger.credential(&token).map_or(0, Aggregate::version);
            Ok((recorded(new, version + u64::from(new)), draft.into_events()))
        };
        self.decided_write(who, progress, &mut decide)
    }

    /// The caller a bearer token identifies on `today`, with the ledger caught up first (a
    /// token revoked by another process is refused at once). An unknown, expired or revoked
    /// token is `Unauthenticated`, with the same answer for each.
    pub fn authenticate(
        &mut self,
        bearer: &str,
        today: Date,
        progress: &Progress,
    ) -> Result<Caller, ServiceError> {
        let refused = || ServiceError::Unauthenticated("the token is not valid".to_owned());
        if !bearer.starts_with(TOKEN_PREFIX) {
            return Err(refused());
        }
        let digest = sha256_hex(bearer);
        let app = self.ledger(Access::Read, progress)?;
        // A token's id is named by its digest, so it is found by key, not by a scan of every
        // token on every request; the whole digest must then match.
        let credential = app
            .ledger()
            .credential(&token_id(&digest))
            .filter(|c| c.issued.digest == digest && c.accepted_on(today))
            .ok_or_else(refused)?;
        Ok(Caller {
            identity: Identity {
                actor: format!("token:{}", credential.issued.token),
                role: Some(credential.issued.role),
                party: credential.issued.party.clone(),
            },
            token: credential.issued.token.clone(),
            role: credential.issued.role,
            party: credential.issued.party.clone(),
        })
    }
}

fn status(c: &Credential, today: Date) -> &'static str {
    if c.revoked_on.is_some() {
        "revoked"
    } else if c.accepted_on(today) {
        "active"
    } else {
        "expired"
    }
}
