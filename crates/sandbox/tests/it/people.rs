//! The portal's rules about people, over real HTTP: members with their groups, roles and
//! privileges; custom roles; the organization by its id. Each refusal answers as the portal does
//! and changes nothing. Groups, sharing and the recycle bin are in `groups.rs`.

use orgpack_portal::{Client, ErrorKind, Method};
use orgpack_sandbox::SandboxOptions;
use serde_json::{Value, json};

use super::conformance::{AddText, add_member, client, sandbox_with};

pub(crate) const PW: &str = "Sandbox-pw-7";

pub(crate) async fn ok(c: &Client, path: &str, params: &[(&str, &str)]) -> Value {
    c.call("ok", Method::Post, path, params)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) async fn get(c: &Client, path: &str, params: &[(&str, &str)]) -> Value {
    c.call("get", Method::Get, path, params)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The portal's refusal of a POST: (code, message).
pub(crate) async fn refused(c: &Client, path: &str, params: &[(&str, &str)]) -> (i64, String) {
    match c.call("refused", Method::Post, path, params).await {
        Err(e) => match e.kind {
            ErrorKind::Portal { code, message, .. } => (code, message),
            other => panic!("{path}: not the portal's error: {other}"),
        },
        Ok(v) => panic!("{path}: expected a refusal, got {v}"),
    }
}

pub(crate) async fn invite(admin: &Client, username: &str, role: &str) {
    let list = json!({"invitations": [{"username": username, "password": PW, "firstname": "Pat",
        "lastname": "Field", "email": format!("{username}@example.org"), "role": role,
        "userLicenseType": "creatorUT"}]})
    .to_string();
    let answer = ok(admin, "portals/self/invite", &[("invitationList", &list)]).await;
    assert_eq!(answer["notInvited"], json!([]), "{username} invited");
}

pub(crate) fn group_ids(user: &Value) -> Vec<(String, String)> {
    user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_owned(),
                g["userMembership"]["memberType"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn members_carry_their_groups_role_and_privileges_and_are_listed_and_searched() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let admin = client(&s, "source", "admin");
    let editor = client(&s, "source", "editor");
    let group = admin.create_group(&[("title", "Crew")]).await.unwrap();
    add_member(&admin, &group, "editor").await;

    let seen = get(&admin, "community/users/editor", &[]).await;
    assert_eq!(seen["role"], "org_publisher");
    assert!(
        seen.get("roleId").is_none(),
        "a built-in role has no roleId"
    );
    assert_eq!(group_ids(&seen), vec![(group.clone(), "member".into())]);
    let privileges = seen["privileges"].as_array().unwrap();
    assert!(privileges.contains(&json!("portal:publisher:publishFeatures")));
    assert!(!privileges.contains(&json!("portal:admin:viewUsers")));
    let me = get(&admin, "community/self", &[]).await;
    assert_eq!(group_ids(&me), vec![(group.clone(), "owner".into())]);

    let public = get(&editor, "community/users/admin", &[]).await;
    assert_eq!(public["username"], "admin");
    for private in ["groups", "role", "privileges", "email"] {
        assert!(public.get(private).is_none(), "{private} is not public");
    }

    invite(&admin, "field.worker", "org_user").await;
    let found = get(
        &admin,
        "portals/self/users/search",
        &[("q", "role: org_publisher")],
    )
    .await;
    let names: Vec<&str> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["editor"]);
    let first = get(&admin, "portals/self/users", &[("num", "2")]).await;
    assert_eq!(first["total"], 3);
    assert_eq!(first["nextStart"], 3);
    assert_eq!(first["users"].as_array().unwrap().len(), 2);
    let (code, _) = refused(&editor, "portals/self/users", &[]).await;
    assert_eq!(code, 403, "members are listed to administrators");
}

#[tokio::test]
async fn members_are_created_the_two_real_ways_disabled_and_deleted_only_when_they_own_nothing() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let admin = client(&s, "source", "admin");
    // ArcGIS Online: an invitation with a password is a member at once.
    invite(&admin, "pat.field", "org_user").await;
    let pat = client(&s, "source", "pat.field");
    assert_eq!(
        get(&pat, "community/self", &[]).await["fullName"],
        "Pat Field"
    );
    let bad =
        json!({"invitations": [{"username": "x", "email": "x@example.org", "role": "org_user"}]})
            .to_string();
    let answer = ok(&admin, "portals/self/invite", &[("invitationList", &bad)]).await;
    assert_eq!(answer["notInvited"], json!(["x"]));
    assert_eq!(
        get(&admin, "portals/self/users", &[]).await["total"],
        3,
        "nothing was created"
    );
    let (code, _) = refused(&admin, "portaladmin/security/users/createUser", &[]).await;
    assert_eq!(code, 400, "ArcGIS Online has no portaladmin");

    // ArcGIS Enterprise: a built-in account through the portal's admin API.
    s.add_enterprise_org("ent", "Enterprise").unwrap();
    s.add_user("ent", "admin", PW, "org_admin").unwrap();
    let ent = client(&s, "ent", "admin");
    let made = ok(
        &ent,
        "portaladmin/security/users/createUser",
        &[
            ("username", "gis.analyst"),
            ("password", PW),
            ("firstname", "Ana"),
            ("lastname", "Lyst"),
            ("email", "ana@example.org"),
            ("role", "org_publisher"),
            ("userLicenseTypeId", "creatorUT"),
        ],
    )
    .await;
    assert_eq!(made["status"], "success");
    let taken = ok(
        &ent,
        "portaladmin/security/users/createUser",
        &[
            ("username", "GIS.Analyst"),
            ("password", PW),
            ("email", "a@example.org"),
        ],
    )
    .await;
    assert_eq!(
        taken["status"], "error",
        "usernames are unique whatever their case"
    );
    assert_eq!(
        get(&client(&s, "ent", "gis.analyst"), "community/self", &[]).await["role"],
        "org_publisher"
    );

    // A thumbnail, kept and served by the name the member's JSON gives.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("pat.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nportrait").unwrap();
    admin
        .upload_form(
            "thumb",
            "community/users/pat.field/update",
            &[],
            "thumbnail",
            &png,
            "pat.png",
        )
        .await
        .unwrap();
    assert_eq!(
        get(&admin, "community/users/pat.field", &[]).await["thumbnail"],
        "pat.png"
    );
    let mut back = Vec::new();
    admin
        .download("thumb", "community/users/pat.field/info/pat.png", &mut back)
        .await
        .unwrap();
    assert_eq!(back, b"\x89PNG\r\n\x1a\nportrait");

    // Update, disable, enable.
    ok(
        &admin,
        "community/users/pat.field/update",
        &[("description", "Hydrants"), ("tags", "field,water")],
    )
    .await;
    let seen = get(&admin, "community/users/pat.field", &[]).await;
    assert_eq!(seen["description"], "Hydrants");
    assert_eq!(seen["tags"], json!(["field", "water"]));
    ok(&admin, "community/users/pat.field/disable", &[]).await;
    assert_eq!(
        get(&admin, "community/users/pat.field", &[]).await["disabled"],
        true
    );
    let err = pat
        .call("self", Method::Get, "community/self", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err.kind,
            ErrorKind::Portal { code: 498, .. } | ErrorKind::Auth(_)
        ),
        "a disabled member's token is refused: {err}"
    );
    let again = client(&s, "source", "pat.field");
    let err = again
        .call("self", Method::Get, "community/self", &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("disabled"), "{err}");
    ok(&admin, "community/users/pat.field/enable", &[]).await;
    assert_eq!(
        get(&client(&s, "source", "pat.field"), "community/self", &[]).await["disabled"],
        false
    );

    // Delete is refused while they own content; reassign hands it over, then delete works.
    let pat = client(&s, "source", "pat.field");
    let item = pat
        .add_text(
            "pat.field",
            &[("title", "Notes"), ("type", "Web Map")],
            "{}",
        )
        .await
        .unwrap();
    let group = pat.create_group(&[("title", "Pat's crew")]).await.unwrap();
    let (code, message) = refused(&admin, "community/users/pat.field/delete", &[]).await;
    assert_eq!(
        (code, message.as_str()),
        (400, "Unable to delete user 'pat.field'.")
    );
    assert_eq!(
        get(&admin, "community/users/pat.field", &[]).await["username"],
        "pat.field"
    );
    ok(
        &admin,
        "community/users/pat.field/reassign",
        &[("targetUsername", "editor")],
    )
    .await;
    assert_eq!(admin.item(&item).await.unwrap()["owner"], "editor");
    assert_eq!(
        get(&admin, &format!("community/groups/{group}"), &[]).await["owner"],
        "editor"
    );
    ok(&admin, "community/users/pat.field/delete", &[]).await;
    assert_eq!(
        refused(&admin, "community/users/pat.field", &[]).await.1,
        "User not found: 'pat.field'"
    );
    let (code, _) = refused(&admin, "community/users/admin/delete", &[]).await;
    assert_eq!(code, 400, "an administrator cannot delete themselves");
}

#[tokio::test]
async fn custom_roles_grant_exactly_their_privileges() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let admin = client(&s, "source", "admin");
    let editor = client(&s, "source", "editor");
    let made = ok(
        &admin,
        "portals/self/createRole",
        &[
            ("name", "Field sharer"),
            ("description", "Shares, nothing else"),
        ],
    )
    .await;
    let role = made["id"].as_str().unwrap().to_owned();
    let (code, _) = refused(
        &admin,
        "portals/self/createRole",
        &[("name", "field SHARER")],
    )
    .await;
    assert_eq!(code, 400, "role names are unique whatever their case");
    let (_, message) = refused(
        &admin,
        &format!("portals/self/roles/{role}/setPrivileges"),
        &[(
            "privileges",
            r#"{"privileges":["portal:user:createItem","portal:user:flyToMars"]}"#,
        )],
    )
    .await;
    assert!(message.contains("portal:user:flyToMars"), "{message}");
    assert_eq!(
        get(
            &admin,
            &format!("portals/self/roles/{role}/privileges"),
            &[]
        )
        .await["privileges"],
        json!([])
    );
    ok(
        &admin,
        &format!("portals/self/roles/{role}/setPrivileges"),
        &[("privileges", r#"{"privileges":["portal:user:createItem","portal:user:shareToGroup","portal:user:joinGroup"]}"#)],
    )
    .await;
    let listed = get(&admin, "portals/self/roles", &[]).await;
    let names: Vec<&str> = listed["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Viewer", "Data Editor", "Field sharer"]);
    let (code, _) = refused(&editor, "portals/self/createRole", &[("name", "Mine")]).await;
    assert_eq!(code, 403);

    ok(
        &admin,
        "portals/self/updateuserrole",
        &[("user", "editor"), ("role", &role)],
    )
    .await;
    let seen = get(&admin, "community/users/editor", &[]).await;
    assert_eq!(
        (seen["role"].as_str(), seen["roleId"].as_str()),
        (Some("org_user"), Some(role.as_str()))
    );
    let mut privileges: Vec<&str> = seen["privileges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    privileges.sort_unstable();
    assert_eq!(
        privileges,
        vec![
            "portal:user:createItem",
            "portal:user:joinGroup",
            "portal:user:shareToGroup"
        ]
    );
    let (code, _) = refused(
        &editor,
        "community/createGroup",
        &[("title", "Not allowed")],
    )
    .await;
    assert_eq!(code, 403, "the role does not grant createGroup");
    let (code, _) = refused(
        &editor,
        "content/users/editor/createService",
        &[
            ("createParameters", r#"{"name":"NotAllowed"}"#),
            ("outputType", "featureService"),
        ],
    )
    .await;
    assert_eq!(code, 403, "nor publishing");
    editor
        .add_text("editor", &[("title", "Allowed"), ("type", "Web Map")], "{}")
        .await
        .expect("the role grants createItem");
    let (_, message) = refused(&admin, &format!("portals/self/roles/{role}/delete"), &[]).await;
    assert!(message.contains("assigned"), "{message}");
    ok(
        &admin,
        "portals/self/updateuserrole",
        &[("user", "editor"), ("role", "iAAAAAAAAAAAAAAA")],
    )
    .await;
    let viewer = get(&admin, "community/users/editor", &[]).await;
    assert_eq!(
        (viewer["roleId"].as_str(), viewer["level"].as_str()),
        (Some("iAAAAAAAAAAAAAAA"), Some("1"))
    );
    let err = editor
        .add_text("editor", &[("title", "Refused"), ("type", "Web Map")], "{}")
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Portal { code: 403, .. }),
        "a viewer creates no items: {err}"
    );
    ok(&admin, &format!("portals/self/roles/{role}/delete"), &[]).await;
    let (code, _) = refused(
        &admin,
        "portals/self/updateuserrole",
        &[("user", "admin"), ("role", "org_user")],
    )
    .await;
    assert_eq!(code, 400, "an administrator cannot demote themselves");
}

#[tokio::test]
async fn the_organization_answers_by_its_id_too() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let admin = client(&s, "source", "admin");
    let me = get(&admin, "portals/self", &[]).await;
    let id = me["id"].as_str().unwrap();
    let by_id = get(&admin, &format!("portals/{id}"), &[]).await;
    assert_eq!(by_id["id"], me["id"]);
    assert_eq!(by_id["user"]["username"], "admin");
    assert_eq!(
        get(&admin, &format!("portals/{id}/users"), &[]).await["total"],
        2
    );
    let (_, message) = refused(&admin, "portals/0123456789abcdef/users", &[]).await;
    assert_eq!(message, "Invalid URL");
}

#[tokio::test]
async fn organization_settings_and_categories_are_kept_and_refused_by_name() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let admin = client(&s, "source", "admin");
    let editor = client(&s, "source", "editor");
    let group = admin
        .create_group(&[("title", "Basemaps"), ("access", "org")])
        .await
        .unwrap();
    let me = get(&admin, "portals/self", &[]).await;
    assert_eq!(me["featuredGroups"], json!([]));
    assert_eq!(me["hasCategorySchema"], false);

    let featured = json!([{"title": "Basemaps", "owner": "admin"}]).to_string();
    let query = format!("id:{group}");
    ok(
        &admin,
        "portals/self/update",
        &[
            ("featuredGroups", &featured),
            ("basemapGalleryGroupQuery", &query),
        ],
    )
    .await;
    let me = get(&admin, "portals/self", &[]).await;
    assert_eq!(me["featuredGroups"][0]["title"], "Basemaps");
    assert_eq!(me["basemapGalleryGroupQuery"], query.as_str());

    let (code, message) = refused(&admin, "portals/self/update", &[("name", "Renamed")]).await;
    assert_eq!(
        (code, message.as_str()),
        (400, "Unable to update organization.")
    );
    assert_eq!(get(&admin, "portals/self", &[]).await["name"], me["name"]);
    let (code, _) = refused(&admin, "portals/self/update", &[("featuredGroups", "[1]")]).await;
    assert_eq!(code, 400, "a featured group needs a title and an owner");
    let (code, _) = refused(
        &editor,
        "portals/self/update",
        &[("basemapGalleryGroupQuery", "x")],
    )
    .await;
    assert_eq!(code, 403, "only an administrator changes the organization");

    let schema =
        json!({"categorySchema": [{"title": "Categories", "categories": [{"title": "Water"}]}]})
            .to_string();
    let (code, _) = refused(
        &editor,
        "portals/self/assignCategorySchema",
        &[("categorySchema", &schema)],
    )
    .await;
    assert_eq!(code, 403);
    ok(
        &admin,
        "portals/self/assignCategorySchema",
        &[("categorySchema", &schema)],
    )
    .await;
    let read = get(&editor, "portals/self/categorySchema", &[]).await;
    assert_eq!(read["categorySchema"][0]["categories"][0]["title"], "Water");
    assert_eq!(
        get(&admin, "portals/self", &[]).await["hasCategorySchema"],
        true
    );

    let id = editor
        .add_text(
            "editor",
            &[
                ("title", "Map"),
                ("type", "Web Map"),
                ("categories", "/Categories/Water"),
            ],
            "{}",
        )
        .await
        .unwrap();
    assert_eq!(
        get(&editor, &format!("content/items/{id}"), &[]).await["categories"],
        json!(["/Categories/Water"])
    );
    // Passed empty, a field changes nothing; with clearEmptyFields it is cleared.
    ok(
        &editor,
        &format!("content/users/editor/items/{id}/update"),
        &[("categories", "")],
    )
    .await;
    assert_eq!(
        get(&editor, &format!("content/items/{id}"), &[]).await["categories"],
        json!(["/Categories/Water"])
    );
    ok(
        &editor,
        &format!("content/users/editor/items/{id}/update"),
        &[("categories", ""), ("clearEmptyFields", "true")],
    )
    .await;
    assert_eq!(
        get(&editor, &format!("content/items/{id}"), &[]).await["categories"],
        json!([])
    );
}

#[tokio::test]
async fn online_usernames_are_unique_across_organizations() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let target = client(&s, "target", "admin");
    let list = json!({"invitations": [{"username": "editor", "password": PW, "firstname": "Dana",
        "lastname": "Editor", "email": "dana@example.org", "role": "org_user"}]})
    .to_string();
    let answer = ok(&target, "portals/self/invite", &[("invitationList", &list)]).await;
    assert_eq!(
        answer["notInvited"],
        json!(["editor"]),
        "`editor` is a member of another ArcGIS Online organization"
    );
    invite(&target, "editor_target", "org_user").await;
}
