//! Credentials: the API tokens callers present, each with a role and, for a donor's or the
//! recipient's liaison, the party it acts for. A token is issued and revoked by events, so who
//! could do what, and when, is on the record like everything else; only a token's SHA-256 is
//! recorded, never the token (it is shown once, to whoever created it).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Field, Reason, Rejection};
use crate::events::EventMeta;
use crate::ids::{PartyId, TokenId};
use crate::party::Directory;
use crate::vocabulary::Role;

/// How long a token lasts when its creator does not say.
pub const DEFAULT_LIFETIME_DAYS: i32 = 90;

/// A token was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenIssued {
    pub token: TokenId,
    /// The SHA-256 of the token, 64 lowercase hexadecimal digits.
    pub digest: String,
    pub role: Role,
    /// The party a donor's or the recipient's liaison acts for; none for the other roles.
    pub party: Option<PartyId>,
    /// Who holds it, as its creator names them.
    pub holder: String,
    pub issued_on: Date,
    /// The last day it is accepted.
    pub expires_on: Date,
}

/// A token was revoked: refused from then on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevoked {
    pub token: TokenId,
    pub revoked_on: Date,
}

/// What may be asked of a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialCommand {
    Issue(TokenIssued),
    Revoke(TokenRevoked),
}

/// What happened to a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialEvent {
    Issued(TokenIssued),
    Revoked(TokenRevoked),
}

/// A token as issued, and whether it was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub issued: TokenIssued,
    pub revoked_on: Option<Date>,
}

impl Credential {
    /// Whether the token is accepted on `day`: not expired, not revoked.
    pub fn accepted_on(&self, day: Date) -> bool {
        day <= self.issued.expires_on && self.revoked_on.is_none()
    }
}

fn is_digest(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn issue(
    record: Option<&Credential>,
    cmd: &TokenIssued,
    registry: &dyn Directory,
) -> Result<Vec<CredentialEvent>, Rejection> {
    if let Some(existing) = record {
        return if existing.issued == *cmd {
            Ok(Vec::new())
        } else {
            Err(Rejection::one(Reason::at(
                Field::Key("token"),
                format!("{} is already issued", cmd.token),
            )))
        };
    }
    let mut reasons = Vec::new();
    if !is_digest(&cmd.digest) {
        reasons.push(Reason::at(
            Field::Key("digest"),
            "must be a SHA-256 in 64 lowercase hexadecimal digits",
        ));
    }
    match (&cmd.party, cmd.role.acts_for_a_party()) {
        (None, true) => reasons.push(Reason::at(
            Field::Key("party"),
            format!("a {} token acts for one party; name it", cmd.role),
        )),
        (Some(p), false) => reasons.push(Reason::at(
            Field::Key("party"),
            format!("a {} token acts for no party, not {p}", cmd.role),
        )),
        (Some(p), true) if !registry.knows_party(p) => reasons.push(Reason::at(
            Field::Key("party"),
            format!("{p} is not a registered party"),
        )),
        _ => {}
    }
    if cmd.holder.trim().is_empty() || cmd.holder.len() > 200 {
        reasons.push(Reason::at(
            Field::Key("holder"),
            "name who holds it, in 1 to 200 characters",
        ));
    }
    if cmd.expires_on < cmd.issued_on {
        reasons.push(Reason::at(
            Field::Key("expires_on"),
            format!(
                "{} is before it is issued on {}",
                cmd.expires_on, cmd.issued_on
            ),
        ));
    }
    Rejection::unless_none(reasons)?;
    Ok(vec![CredentialEvent::Issued(cmd.clone())])
}

fn revoke(
    record: Option<&Credential>,
    cmd: &TokenRevoked,
) -> Result<Vec<CredentialEvent>, Rejection> {
    match record {
        None => Err(Rejection::one(Reason::at(
            Field::Key("token"),
            format!("no token {} is issued", cmd.token),
        ))),
        // Revoking twice changes nothing.
        Some(c) if c.revoked_on.is_some() => Ok(Vec::new()),
        Some(_) => Ok(vec![CredentialEvent::Revoked(cmd.clone())]),
    }
}

impl Aggregate for Credential {
    const KIND: &'static str = "credential";
    type Id = TokenId;
    type Command = CredentialCommand;
    type Event = CredentialEvent;
    type Context<'c> = dyn Directory + 'c;

    fn target(command: &CredentialCommand) -> TokenId {
        match command {
            CredentialCommand::Issue(c) => c.token.clone(),
            CredentialCommand::Revoke(c) => c.token.clone(),
        }
    }

    fn id_of(event: &CredentialEvent) -> TokenId {
        match event {
            CredentialEvent::Issued(e) => e.token.clone(),
            CredentialEvent::Revoked(e) => e.token.clone(),
        }
    }

    fn decide(
        record: Option<&Credential>,
        command: &CredentialCommand,
        registry: &(dyn Directory + '_),
    ) -> Result<Vec<CredentialEvent>, Rejection> {
        match command {
            CredentialCommand::Issue(cmd) => issue(record, cmd, registry),
            CredentialCommand::Revoke(cmd) => revoke(record, cmd),
        }
    }

    fn open(_: EventMeta, event: &CredentialEvent) -> Option<Credential> {
        match event {
            CredentialEvent::Issued(e) => Some(Credential {
                issued: e.clone(),
                revoked_on: None,
            }),
            CredentialEvent::Revoked(_) => None,
        }
    }

    fn apply(&mut self, _: EventMeta, event: CredentialEvent) {
        match event {
            CredentialEvent::Issued(e) => self.issued = e,
            CredentialEvent::Revoked(e) => self.revoked_on = Some(e.revoked_on),
        }
    }

    fn version(&self) -> u64 {
        1 + u64::from(self.revoked_on.is_some())
    }
}
