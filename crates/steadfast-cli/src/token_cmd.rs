//! `steadfast token create | list | revoke`: the API's tokens, managed from the command line as
//! the local administrator.

use anyhow::Result;
use clap::{Args, Subcommand};
use jiff::civil::Date;
use steadfast_app::{CreateToken, Database, Service};
use steadfast_domain::{PartyId, Role, TokenId};

use crate::output::{Grid, emit};
use crate::{FormatArg, asking, head_line, parse_date, text};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, once, alone on the last line (only its SHA-256 is kept).
    Create(CreateArgs),
    /// List the tokens (never the tokens themselves): role, party, holder, dates, status.
    List(ListArgs),
    /// Revoke a token: refused from now on, by a running server too.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// What its holder may do.
    #[arg(long, value_parser = |s: &str| Role::parse(s).map_err(|e| e.to_string()))]
    role: Role,
    /// The party a donor's or the recipient's liaison acts for (e.g. POL, UKR).
    #[arg(long, value_parser = |s: &str| PartyId::parse(s).map_err(|e| e.to_string()))]
    party: Option<PartyId>,
    /// Who holds it (default: the role and party).
    #[arg(long)]
    name: Option<String>,
    /// Its last day, YYYY-MM-DD (default: 90 days from today).
    #[arg(long, value_parser = parse_date)]
    expires: Option<Date>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's id, as `token list` shows it (T-…).
    #[arg(value_parser = |s: &str| TokenId::parse(s).map_err(|e| e.to_string()))]
    token: TokenId,
}

/// Today in UTC: a token's days are UTC days, on the command line and in the server alike.
fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

pub fn run(database: &Database, command: &TokenCommand) -> Result<()> {
    let mut service = Service::new(database.clone());
    match command {
        TokenCommand::Create(args) => {
            let holder = args.name.clone().unwrap_or_else(|| match &args.party {
                Some(party) => format!("{} liaison of {party}", args.role),
                None => args.role.to_string(),
            });
            let cmd = CreateToken {
                role: args.role,
                party: args.party.clone(),
                holder,
                expires_on: args.expires,
                today: today(),
            };
            let created = asking(&mut service, |s, who, p| s.create_token(who, cmd, p))?;
            let issued = &created.issued;
            println!(
                "token {}: {}{} for {}, valid until the end of {} (UTC); shown once, keep it secret:",
                issued.token,
                issued.role,
                issued
                    .party
                    .as_ref()
                    .map(|p| format!(" acting for {p}"))
                    .unwrap_or_default(),
                issued.holder,
                issued.expires_on
            );
            println!("{}", created.secret);
            Ok(())
        }
        TokenCommand::List(args) => {
            let day = today();
            let list = asking(&mut service, |s, who, p| s.tokens(who, day, p))?;
            let mut grid = Grid::new(&[
                ("token", false),
                ("role", false),
                ("party", false),
                ("holder", false),
                ("issued", false),
                ("expires", false),
                ("status", false),
            ]);
            for t in &list.rows {
                grid.push(vec![
                    t.token.to_string(),
                    t.role.to_string(),
                    text(t.party.as_ref()),
                    t.holder.clone(),
                    t.issued_on.to_string(),
                    t.expires_on.to_string(),
                    match t.revoked_on {
                        Some(on) => format!("revoked {on}"),
                        None => t.status.to_owned(),
                    },
                ]);
            }
            let footer = vec![
                format!("{} token(s) on {day}", list.rows.len()),
                head_line(&list.log_head),
            ];
            emit(args.format.format, &list, &grid, &footer)
        }
        TokenCommand::Revoke(args) => {
            let day = today();
            let token = args.token.clone();
            let revoked = asking(&mut service, |s, who, p| s.revoke_token(who, token, day, p))?;
            if revoked.new {
                println!("token {} revoked from {day}", args.token);
            } else {
                println!("token {} was already revoked; nothing changed", args.token);
            }
            Ok(())
        }
    }
}
