//! The `strata nodetool` client: Cassandra's nodetool command line, sent to a node's admin
//! endpoint (`admin.rs`) as one HTTP request; the answer's body is what it prints.
//!
//! Options as Cassandra's nodetool, before or after the command: `-h/--host`,
//! `-p/--port`, `-u/--username`, `-pw/--password`, `-pwf/--password-file`. Every other
//! argument belongs to the command (`tablestats -H ks`), parsed by the node.

use std::time::Duration;

/// A parsed nodetool command line.
#[derive(Debug, PartialEq, Eq)]
pub struct Invocation {
    pub host: String,
    pub port: u16,
    /// Credentials for a node with an authenticator (sent as HTTP basic authentication;
    /// actions need a superuser role).
    pub username: Option<String>,
    /// `-pw`, or read from the `-pwf` file (Cassandra's `username password` lines).
    pub password: Option<String>,
    pub verb: String,
    pub args: Vec<String>,
}

/// Verbs that only read: sent as GET, everything else as POST.
const READ_ONLY: &[&str] = &[
    "status",
    "info",
    "version",
    "listsnapshots",
    "tablestats",
    "cfstats",
    "tpstats",
    "compactionstats",
    "tablehistograms",
    "cfhistograms",
    "proxyhistograms",
    "getlogginglevels",
    "ring",
    "gossipinfo",
    "getendpoints",
    "describecluster",
    "netstats",
];

/// Parses the arguments after `nodetool`.
pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let mut inv = Invocation {
        host: "127.0.0.1".into(),
        port: 7199,
        username: None,
        password: None,
        verb: String::new(),
        args: Vec::new(),
    };
    let mut password_file = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| iter.next().cloned())
                .ok_or_else(|| format!("nodetool: option {what} needs a value"))
        };
        match name {
            "-h" | "--host" => inv.host = value(name)?,
            "-p" | "--port" => {
                let text = value(name)?;
                inv.port = text
                    .parse()
                    .map_err(|_| format!("nodetool: invalid port '{text}'"))?;
            }
            "-u" | "--username" => inv.username = Some(value(name)?),
            "-pw" | "--password" => inv.password = Some(value(name)?),
            "-pwf" | "--password-file" => password_file = Some(value(name)?),
            _ if inv.verb.is_empty() && !arg.starts_with('-') => inv.verb = arg.clone(),
            _ => inv.args.push(arg.clone()),
        }
    }
    if inv.verb.is_empty() {
        return Err("nodetool: a command is required (e.g. status, info, tablestats)".into());
    }
    if let Some(path) = password_file {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("nodetool: cannot read password file {path}: {e}"))?;
        inv.password = password_for(&text, inv.username.as_deref());
    }
    Ok(inv)
}

/// The password of `user` in a JMX password file (`username password` per line).
fn password_for(file: &str, user: Option<&str>) -> Option<String> {
    file.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let name = words.next().filter(|n| !n.starts_with('#'))?;
        let password = words.next()?;
        (Some(name) == user).then(|| password.to_string())
    })
}

/// Runs one nodetool command line and prints the node's answer.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let inv = parse(args).map_err(anyhow::Error::msg)?;
    let method = if READ_ONLY.contains(&inv.verb.as_str()) {
        "GET"
    } else {
        "POST"
    };
    let query: Vec<String> = inv.args.iter().map(|a| percent_encode(a)).collect();
    let (host, port) = (&inv.host, inv.port);
    let target = format!(
        "/nodetool/{}?{}",
        percent_encode(&inv.verb),
        query.join("&")
    );
    let credentials = inv.username.as_deref().zip(inv.password.as_deref());
    let timeout = Duration::from_secs(3600);
    let (ok, body) = crate::admin::request_as(host, port, method, &target, timeout, credentials)
        .map_err(|e| anyhow::anyhow!("nodetool: Failed to connect to '{host}:{port}' - {e}."))?;
    if !ok {
        anyhow::bail!("{}", body.trim().trim_start_matches("error: "));
    }
    print!("{body}");
    Ok(())
}

pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Invocation {
        parse(
            &line
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>(),
        )
        .expect(line)
    }

    #[test]
    fn options_as_cassandras_nodetool_before_or_after_the_command() {
        let inv = parsed("-h 127.0.0.2 -p 7299 -u cassandra -pw secret tablestats -H ks.t");
        assert_eq!(
            inv,
            Invocation {
                host: "127.0.0.2".into(),
                port: 7299,
                username: Some("cassandra".into()),
                password: Some("secret".into()),
                verb: "tablestats".into(),
                args: vec!["-H".into(), "ks.t".into()],
            }
        );
        let inv = parsed("status --host=127.0.0.3 --port 7300");
        assert_eq!(
            (inv.host.as_str(), inv.port, inv.verb.as_str()),
            ("127.0.0.3", 7300, "status")
        );
        assert!(inv.args.is_empty());
        assert!(parse(&["-p".into(), "x".into(), "info".into()]).is_err());
        assert!(parse(&["-h".into()]).is_err());
        let file = "# JMX users\nmonitor readonly\ncassandra s3cret\n";
        assert_eq!(password_for(file, Some("cassandra")), Some("s3cret".into()));
        assert_eq!(password_for(file, Some("nobody")), None);
    }
}
