//! The organization: `portals/self`, also served as `portals/<orgId>`.

use axum::response::Response;
use serde_json::json;

use super::Call;

/// `portals/self`: the organization, with the caller embedded as `user` when signed in.
pub(super) fn portal_self(call: &Call) -> Result<Response, Response> {
    let host = call
        .rest
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("127.0.0.1");
    let mut v = json!({
        "id": call.org_id, "name": call.org_name, "urlKey": call.org, "isPortal": call.is_portal,
        "portalName": if call.is_portal { "ArcGIS Enterprise" } else { "ArcGIS Online" },
        "portalMode": if call.is_portal { "singletenant" } else { "multitenant" },
        "portalHostname": format!("{host}/{}", call.org), "customBaseUrl": host, "allSSL": false,
        "access": "private", "canSharePublic": true, "canSearchPublic": true, "supportsHostedServices": true,
        "supportsOAuth": true, "currentVersion": crate::CURRENT_VERSION, "culture": "en", "units": "metric",
        "maxTokenExpirationMinutes": 20160, "helperServices": {}, "defaultUserCreditAssignment": -1,
        "hasCategorySchema": false,
        "recycleBinSupported": !call.is_portal, "recycleBinEnabled": !call.is_portal,
    });
    if let Some(u) = &call.user {
        v.as_object_mut()
            .expect("object")
            .insert("user".into(), super::users::user_json(call, u, true)?);
    }
    Ok(call.reply(&v))
}
