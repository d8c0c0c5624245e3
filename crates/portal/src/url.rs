//! Portal URLs: whatever a user types, the REST root of the portal.

/// ArcGIS Online or ArcGIS Enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// ArcGIS Online (`www.arcgis.com`, `<urlKey>.maps.arcgis.com`).
    Online,
    /// ArcGIS Enterprise (`https://host/<webadaptor>`).
    Enterprise,
}

/// A portal's address, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalUrl {
    /// The portal root, without a trailing slash: `https://myorg.maps.arcgis.com`,
    /// `https://gis.example.com/portal`.
    pub root: String,
    /// Online or Enterprise.
    pub flavor: Flavor,
}

impl PortalUrl {
    /// Normalise a portal address: scheme added (`https`) when missing, trailing slashes and a
    /// `/sharing/rest` (or `/sharing`, `/home`) suffix removed, the host lowercased.
    ///
    /// # Errors
    /// A message when the address has no host or uses a scheme other than http(s).
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let (scheme, rest) = with_scheme.split_once("://").expect("added above");
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(format!("`{trimmed}` is not an http(s) address"));
        }
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some((_, after)) = host.rsplit_once('@') {
            // Never echo what is before the `@`: it is a user name and perhaps a password.
            return Err(format!(
                "`{scheme}://…@{after}` holds credentials before its host: give them in the \
                 config file (username, password_env) instead"
            ));
        }
        if host.is_empty() {
            return Err(format!("`{trimmed}` has no usable host"));
        }
        let host = host.to_ascii_lowercase();
        let mut path = path.trim_end_matches('/').to_owned();
        for suffix in [
            "/sharing/rest",
            "/sharing",
            "/home",
            "sharing/rest",
            "sharing",
            "home",
        ] {
            if let Some(p) = path.strip_suffix(suffix) {
                path = p.trim_end_matches('/').to_owned();
                break;
            }
        }
        let online =
            host == "arcgis.com" || host.ends_with(".arcgis.com") && !host.starts_with("services");
        let host = if host == "arcgis.com" {
            "www.arcgis.com".to_owned()
        } else {
            host
        };
        let root = if path.is_empty() {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}/{path}")
        };
        Ok(Self {
            root,
            flavor: if online {
                Flavor::Online
            } else {
                Flavor::Enterprise
            },
        })
    }

    /// The REST root: `<root>/sharing/rest`.
    #[must_use]
    pub fn rest(&self) -> String {
        format!("{}/sharing/rest", self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_users_type_becomes_one_root() {
        for (input, root, flavor) in [
            (
                "https://www.arcgis.com",
                "https://www.arcgis.com",
                Flavor::Online,
            ),
            (
                "arcgis.com/sharing/rest/",
                "https://www.arcgis.com",
                Flavor::Online,
            ),
            (
                "https://MyOrg.maps.arcgis.com/home/",
                "https://myorg.maps.arcgis.com",
                Flavor::Online,
            ),
            (
                "https://gis.example.com/portal/sharing/rest",
                "https://gis.example.com/portal",
                Flavor::Enterprise,
            ),
            (
                "gis.example.com/portal/",
                "https://gis.example.com/portal",
                Flavor::Enterprise,
            ),
            (
                "http://127.0.0.1:8443/org1/sharing/rest?f=json",
                "http://127.0.0.1:8443/org1",
                Flavor::Enterprise,
            ),
        ] {
            let url = PortalUrl::parse(input).unwrap();
            assert_eq!((url.root.as_str(), url.flavor), (root, flavor), "{input}");
        }
        assert_eq!(
            PortalUrl::parse("gis.example.com/portal").unwrap().rest(),
            "https://gis.example.com/portal/sharing/rest"
        );
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "ftp://x/y",
            "https:///nohost",
            "https://user:pw@host/portal",
            "",
        ] {
            assert!(PortalUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_in_an_address_are_refused_without_being_echoed() {
        let err =
            PortalUrl::parse("https://gis_admin:S3cret!@host.example.com/portal").unwrap_err();
        assert!(
            !err.contains("S3cret") && !err.contains("gis_admin"),
            "{err}"
        );
        assert!(err.contains("host.example.com"), "{err}");
    }
}
