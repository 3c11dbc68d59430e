//! `binderdb keys create|list|revoke`: manages a credentials file (see the README's Security
//! section for its format). The server reads the file when it starts, so a change takes effect
//! at the next start.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use binderdb_server::Auth;
use clap::{Args, Subcommand};

/// Manage the access keys of a credentials file.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key, append it to the file (created if missing, readable by its owner only)
    /// and print it.
    Create {
        /// The credentials file.
        #[arg(long)]
        credentials: PathBuf,
        /// The key's account (12 digits); without it, the server's default account.
        #[arg(long)]
        account: Option<String>,
        /// The IAM user name in the key's principal ARN (default: the access key id).
        #[arg(long)]
        user: Option<String>,
        /// A policy document the key is limited to (a path, kept relative to the file's folder
        /// as given).
        #[arg(long)]
        policy: Option<String>,
    },
    /// List the file's keys (never their secrets).
    List {
        /// The credentials file.
        #[arg(long)]
        credentials: PathBuf,
    },
    /// Remove a key from the file.
    Revoke {
        /// The credentials file.
        #[arg(long)]
        credentials: PathBuf,
        /// The access key id to remove.
        access_key_id: String,
    },
}

/// Runs one `keys` command.
///
/// # Errors
/// Unreadable or unwritable files, malformed lines, an unknown key to revoke.
pub fn run(args: KeysArgs) -> Result<(), String> {
    match args.command {
        KeysCommand::Create {
            credentials,
            account,
            user,
            policy,
        } => create(&credentials, account, user, policy),
        KeysCommand::List { credentials } => list(&credentials),
        KeysCommand::Revoke {
            credentials,
            access_key_id,
        } => revoke(&credentials, &access_key_id),
    }
}

fn base(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

/// `n` characters of `alphabet` from the kernel's random source (keys must not be guessable).
fn random_text(alphabet: &[u8], n: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    // 256 is not a multiple of every alphabet's size: the tiny bias is harmless for 40
    // characters of 64 symbols (exact) or 36 (ids, which are not secret).
    Ok(bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

fn create(
    path: &Path,
    account: Option<String>,
    user: Option<String>,
    policy: Option<String>,
) -> Result<(), String> {
    const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let id = format!("BDBK{}", random_text(ID_CHARS, 16)?);
    let secret = random_text(SECRET_CHARS, 40)?;
    let mut line = format!("{id}:{secret}");
    for (name, value) in [("account", account), ("user", user), ("policy", policy)] {
        if let Some(v) = value {
            line.push_str(&format!(" {name}={v}"));
        }
    }
    // Check the line as the server will read it (account digits, policy file and document).
    Auth::parse_credentials_line(&line, base(path))?;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    writeln!(file, "{line}").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("access key id      {id}");
    println!("secret access key  {secret}");
    Ok(())
}

fn list(path: &Path) -> Result<(), String> {
    let keys = Auth::read_credentials_file(path)?;
    println!(
        "{:<24} {:<14} {:<24} policy",
        "access key id", "account", "user"
    );
    for k in keys {
        println!(
            "{:<24} {:<14} {:<24} {}",
            k.access_key_id,
            k.account.as_deref().unwrap_or("(default)"),
            k.user,
            if k.policy.is_some() {
                "yes"
            } else {
                "no (full access)"
            }
        );
    }
    Ok(())
}

fn revoke(path: &Path, access_key_id: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut kept = String::with_capacity(text.len());
    let mut removed = 0;
    for line in text.lines() {
        let trimmed = line.trim();
        let is_key = !trimmed.is_empty() && !trimmed.starts_with('#');
        let id = trimmed.split([':', ' ', '\t']).next().unwrap_or_default();
        if is_key && id == access_key_id {
            removed += 1;
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    if removed == 0 {
        return Err(format!("{}: no key {access_key_id}", path.display()));
    }
    // Write a new file and rename it over the old one: a crash leaves one or the other.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, kept).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    println!("revoked {access_key_id} (takes effect when the server next starts)");
    Ok(())
}
