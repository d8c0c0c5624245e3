//! Hub sites put on the web again in an ArcGIS Online target, as Hub does when it creates a site
//! (Esri's hub.js `createSite`): the restored site item registered as an application
//! (`oauth2/registerApp`, its redirect URIs the site's address; the `client_id` becomes the
//! site's `values.clientId`), then its hostname entered in the Hub API's domain service. The
//! hostname is the source's subdomain under the target organization's key
//! (`<subdomain>-<urlKey>.hub.arcgis.com`), stepped (`<subdomain>-1-…`) when another site holds
//! it, as Hub's `getUniqueDomainName` does; an entry of the organization's own for a site that no
//! longer exists is removed first. The site's data (`subdomain`, `defaultHostname`, `clientId`),
//! URL and `hubsubdomain|…` typeKeyword then name the new address. A custom hostname is kept in
//! the data but not entered: its DNS points at the source's entry.
//!
//! Each step looks before it writes (the site's entries, its registration), so a run cut short
//! is finished without a second registration or entry.

use orgpack_archive::manifest::Item;
use orgpack_portal::Content;
use serde_json::{Value, json};

use crate::item::Ctx;

/// The hostname a site takes in the target: `<sub>[-<step>]-<urlKey>.<base>`.
fn hostname(subdomain: &str, step: u32, url_key: &str, base: &str) -> String {
    let name = if step == 0 {
        subdomain.to_owned()
    } else {
        format!("{subdomain}-{step}")
    };
    format!("{name}-{url_key}.{base}").to_ascii_lowercase()
}

/// Whether `item` is a Hub site (the only items [`register`] does anything for).
#[must_use]
pub fn is_site(item: &Item) -> bool {
    matches!(
        item.item_type.as_str(),
        "Hub Site Application" | "Site Application"
    )
}

/// Put the restored site `target_id` (owned by `owner`) on the web in the target; what the report
/// says of its address, when there is something to say. Nothing for a site without a default
/// hostname, or a target without a Hub API.
pub async fn register(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    target_id: &str,
) -> Result<Option<String>, String> {
    if !is_site(item) || ctx.facts.is_portal {
        return Ok(None);
    }
    let Some(hub) = ctx.facts.hub.as_deref() else {
        return Ok(None);
    };
    let client = ctx.client;
    let mut data = Vec::new();
    client
        .item_data(target_id, &mut data)
        .await
        .map_err(|e| format!("reading the site's data: {e}"))?;
    let mut doc: Value = serde_json::from_slice(&data).unwrap_or(Value::Null);
    let values = &doc["values"];
    let Some(old) = values["defaultHostname"].as_str().map(str::to_owned) else {
        return Ok(None);
    };
    let custom = values["customHostname"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let base = old
        .split_once('.')
        .map_or("hub.arcgis.com", |(_, b)| b)
        .to_owned();
    let subdomain = values["subdomain"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map_or_else(
            || old.split('.').next().unwrap_or_default().to_owned(),
            str::to_owned,
        );
    let site = client
        .item(target_id)
        .await
        .map_err(|e| format!("reading the site: {e}"))?;
    let mine = client
        .hub_domains_of_site(hub, target_id)
        .await
        .map_err(|e| format!("reading the site's domains: {e}"))?;
    let host = if let Some(entry) = mine.first() {
        // Entered by a run cut short.
        entry["hostname"].as_str().unwrap_or_default().to_owned()
    } else {
        let host = free_hostname(ctx, hub, &subdomain, &base).await?;
        let client_id = match client
            .registered_app(owner, target_id)
            .await
            .map_err(|e| format!("reading the site's registration: {e}"))?
        {
            Some(id) => id,
            None => client
                .register_app(
                    target_id,
                    &[format!("http://{host}"), format!("https://{host}")],
                )
                .await
                .map_err(|e| format!("registering the site as an application: {e}"))?,
        };
        let title = site["title"].as_str().unwrap_or_default();
        client
            .add_hub_domain(
                hub,
                &json!({
                    "hostname": host, "siteId": target_id, "siteTitle": title,
                    "orgId": ctx.facts.org_id, "orgKey": ctx.facts.url_key,
                    "orgTitle": ctx.facts.org_name, "clientKey": client_id, "sslOnly": true,
                }),
            )
            .await
            .map_err(|e| format!("entering the site's hostname in Hub: {e}"))?;
        doc["values"]["clientId"] = json!(client_id);
        host
    };
    let new_sub = host
        .strip_suffix(&format!(
            "-{}.{base}",
            ctx.facts.url_key.to_ascii_lowercase()
        ))
        .unwrap_or(&subdomain)
        .to_owned();
    doc["values"]["defaultHostname"] = json!(host);
    doc["values"]["subdomain"] = json!(new_sub);
    let keywords: Vec<String> = site["typeKeywords"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|k| {
            if k.starts_with("hubsubdomain|") {
                format!("hubsubdomain|{new_sub}")
            } else {
                k.to_owned()
            }
        })
        .collect();
    let url = format!("https://{host}");
    let text = doc.to_string();
    client
        .update_item(
            owner,
            None,
            target_id,
            &[("url", url.as_str()), ("typeKeywords", &keywords.join(","))],
            Content::Text(&text),
        )
        .await
        .map_err(|e| format!("giving the site its address: {e}"))?;
    let mut said = Vec::new();
    if host != old {
        said.push(format!("its address is `{host}` (the source's: `{old}`)"));
    }
    if let Some(c) = custom {
        said.push(format!(
            "its custom hostname `{c}` is kept in its settings but not entered in Hub: its DNS \
             names the source's site; enter it in the target's Hub site settings"
        ));
    }
    Ok((!said.is_empty()).then(|| format!("Hub site: {}", said.join("; "))))
}

/// The first hostname for `subdomain` that no other site holds; an entry of the target's own for
/// a site that no longer exists is removed.
async fn free_hostname(
    ctx: &Ctx<'_>,
    hub: &str,
    subdomain: &str,
    base: &str,
) -> Result<String, String> {
    let client = ctx.client;
    for step in 0..100 {
        let host = hostname(subdomain, step, &ctx.facts.url_key, base);
        let Some(entry) = client
            .hub_domain(hub, &host)
            .await
            .map_err(|e| format!("looking up `{host}` in Hub: {e}"))?
        else {
            return Ok(host);
        };
        let ours = entry["orgId"].as_str() == Some(ctx.facts.org_id.as_str());
        let site = entry["siteId"].as_str().unwrap_or_default();
        if ours && !site.is_empty() && client.item(site).await.is_err() {
            let id = entry["id"]
                .as_str()
                .map_or_else(|| entry["id"].to_string(), str::to_owned);
            client
                .remove_hub_domain(hub, &id)
                .await
                .map_err(|e| format!("removing the entry of a deleted site for `{host}`: {e}"))?;
            return Ok(host);
        }
    }
    Err(format!("no free hostname for `{subdomain}` in Hub"))
}

#[cfg(test)]
mod tests {
    use super::hostname;

    #[test]
    fn a_sites_hostname_is_its_subdomain_under_the_organizations_key() {
        assert_eq!(
            hostname("water", 0, "DemoCity", "hub.arcgis.com"),
            "water-democity.hub.arcgis.com"
        );
        assert_eq!(
            hostname("water", 2, "democity", "hub.arcgis.com"),
            "water-2-democity.hub.arcgis.com"
        );
    }
}
