//! Groups and sharing, over real HTTP: every group setting and membership change the portal
//! allows; who may share what into which group, and unsharing from every endpoint; the recycle
//! bin. Each refusal answers as the portal does and changes nothing.

use orgpack_portal::{Client, ErrorKind, Method};
use orgpack_sandbox::SandboxOptions;
use serde_json::{Value, json};

use super::conformance::{AddText, add_city_gdb, add_member, client, sandbox_with};
use super::people::{PW, get, group_ids, invite, ok, refused};

#[tokio::test]
async fn groups_keep_every_setting_and_membership_changes_as_the_portal_allows() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let admin = client(&s, "source", "admin");
    let editor = client(&s, "source", "editor");
    invite(&admin, "pat.field", "org_user").await;
    let pat = client(&s, "source", "pat.field");

    let (code, _) = refused(
        &editor,
        "community/createGroup",
        &[
            ("title", "Edit team"),
            ("capabilities", "updateitemcontrol"),
        ],
    )
    .await;
    assert_eq!(
        code, 403,
        "shared update needs portal:admin:createUpdateCapableGroup"
    );
    assert_eq!(
        get(&admin, "community/groups", &[("q", "title:\"Edit team\"")]).await["total"],
        0
    );
    let (_, message) = refused(
        &admin,
        "community/createGroup",
        &[("title", "X"), ("sortField", "colour")],
    )
    .await;
    assert!(message.contains("sortField"), "{message}");
    let made = ok(
        &admin,
        "community/createGroup",
        &[
            ("title", "Edit team"),
            ("access", "org"),
            ("capabilities", "updateitemcontrol"),
            ("isInvitationOnly", "true"),
            ("isViewOnly", "true"),
            ("hiddenMembers", "true"),
            ("sortField", "modified"),
            ("sortOrder", "desc"),
            ("membershipAccess", "org"),
            ("displaySettings", r#"{"itemTypes":"Map"}"#),
            ("tags", "field,edit"),
        ],
    )
    .await;
    let team = made["group"]["id"].as_str().unwrap().to_owned();
    let seen = get(&admin, &format!("community/groups/{team}"), &[]).await;
    for (key, want) in [
        ("capabilities", json!(["updateitemcontrol"])),
        ("isInvitationOnly", json!(true)),
        ("isViewOnly", json!(true)),
        ("hiddenMembers", json!(true)),
        ("sortField", json!("modified")),
        ("sortOrder", json!("desc")),
        ("membershipAccess", json!("org")),
        ("displaySettings", json!({"itemTypes": "Map"})),
        ("tags", json!(["field", "edit"])),
    ] {
        assert_eq!(seen[key], want, "{key}");
    }
    let (_, message) = refused(
        &admin,
        &format!("community/groups/{team}/update"),
        &[("capabilities", "")],
    )
    .await;
    assert!(message.contains("capabilities"), "{message}");
    let (code, message) = refused(&pat, &format!("community/groups/{team}/join"), &[]).await;
    assert_eq!(code, 403, "{message}");

    // Invitation (accepted at once), promotion, hidden members.
    ok(
        &admin,
        &format!("community/groups/{team}/invite"),
        &[
            ("users", "pat.field,editor"),
            ("role", "group_member"),
            ("expiration", "1440"),
        ],
    )
    .await;
    let results = ok(
        &admin,
        &format!("community/groups/{team}/updateUsers"),
        &[("admins", "editor,admin,nobody")],
    )
    .await;
    assert_eq!(
        results["results"],
        json!([
        {"username": "editor", "success": true}, {"username": "admin", "success": false},
        {"username": "nobody", "success": false}])
    );
    let as_member = get(&pat, &format!("community/groups/{team}/users"), &[]).await;
    assert_eq!(
        as_member["users"],
        json!([]),
        "members of a group with hidden members see its managers only"
    );
    let as_manager = get(&editor, &format!("community/groups/{team}/users"), &[]).await;
    assert_eq!(as_manager["users"], json!(["pat.field"]));
    assert_eq!(as_manager["owner"], "admin");
    ok(
        &editor,
        &format!("community/groups/{team}/updateUsers"),
        &[("users", "editor")],
    )
    .await;
    assert_eq!(
        group_ids(&get(&admin, "community/users/editor", &[]).await),
        vec![(team.clone(), "member".into())]
    );

    // Join and leave an open group; the owner cannot leave; leavingDisallowed holds members.
    let open = admin
        .create_group(&[("title", "Open"), ("access", "org"), ("autoJoin", "true")])
        .await
        .unwrap();
    ok(&pat, &format!("community/groups/{open}/join"), &[]).await;
    ok(&pat, &format!("community/groups/{open}/leave"), &[]).await;
    let (_, message) = refused(&admin, &format!("community/groups/{open}/leave"), &[]).await;
    assert!(message.contains("owner"), "{message}");
    ok(
        &admin,
        &format!("community/groups/{team}/update"),
        &[("leavingDisallowed", "true")],
    )
    .await;
    let (code, _) = refused(&pat, &format!("community/groups/{team}/leave"), &[]).await;
    assert_eq!(code, 403);

    // A thumbnail, served by the name the group's JSON gives.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("team.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nteam").unwrap();
    admin
        .upload_form(
            "thumb",
            &format!("community/groups/{team}/update"),
            &[],
            "thumbnail",
            &png,
            "team.png",
        )
        .await
        .unwrap();
    assert_eq!(
        get(&admin, &format!("community/groups/{team}"), &[]).await["thumbnail"],
        "team.png"
    );
    let mut back = Vec::new();
    pat.download(
        "thumb",
        &format!("community/groups/{team}/info/team.png"),
        &mut back,
    )
    .await
    .unwrap();
    assert_eq!(back, b"\x89PNG\r\n\x1a\nteam");

    // Ownership, protection, categories.
    ok(
        &admin,
        &format!("community/groups/{open}/reassign"),
        &[("targetUsername", "editor")],
    )
    .await;
    let users = get(&admin, &format!("community/groups/{open}/users"), &[]).await;
    assert_eq!(users["owner"], "editor");
    assert_eq!(
        users["admins"],
        json!(["admin", "editor"]),
        "the previous owner stays as a manager"
    );
    ok(&admin, &format!("community/groups/{team}/protect"), &[]).await;
    let (_, message) = refused(&admin, &format!("community/groups/{team}/delete"), &[]).await;
    assert!(message.contains("protection"), "{message}");
    assert!(get(&admin, &format!("community/groups/{team}"), &[]).await["id"] == team.as_str());
    let schema = r#"{"categorySchema":[{"title":"Categories","categories":[{"title":"Water"}]}]}"#;
    ok(
        &admin,
        &format!("community/groups/{team}/assignCategorySchema"),
        &[("categorySchema", schema)],
    )
    .await;
    let back = get(
        &admin,
        &format!("community/groups/{team}/categorySchema"),
        &[],
    )
    .await;
    assert_eq!(back["categorySchema"][0]["categories"][0]["title"], "Water");
    assert_eq!(
        get(&admin, &format!("community/groups/{team}"), &[]).await["hasCategorySchema"],
        true
    );
}

/// Share (an item) with `groups` through `path`: the portal's answer.
async fn share(c: &Client, path: &str, groups: &str, extra: &[(&str, &str)]) -> Value {
    let mut params = vec![("groups", groups)];
    params.extend_from_slice(extra);
    ok(c, path, &params).await
}

/// The groups an item is shared with, as its owner's view of it says.
async fn shared_with(admin: &Client, owner: &str, id: &str) -> (String, Vec<String>) {
    let v = admin.user_item(owner, id).await.unwrap();
    let groups = v["sharing"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_owned())
        .collect();
    (v["sharing"]["access"].as_str().unwrap().to_owned(), groups)
}

#[tokio::test]
async fn sharing_follows_the_portals_rules_and_unsharing_works_from_every_endpoint() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let admin = client(&s, "source", "admin");
    let editor = client(&s, "source", "editor");
    invite(&admin, "pat.field", "org_user").await;
    let pat = client(&s, "source", "pat.field");
    let map = editor
        .add_text(
            "editor",
            &[("title", "Hydrants"), ("type", "Web Map")],
            "{}",
        )
        .await
        .unwrap();
    let owner_path = format!("content/users/editor/items/{map}/share");

    // The owner shares only into groups they belong to.
    let elsewhere = admin
        .create_group(&[("title", "Elsewhere"), ("access", "org")])
        .await
        .unwrap();
    let answer = share(&editor, &owner_path, &elsewhere, &[]).await;
    assert_eq!(answer["notSharedWith"], json!([elsewhere]));
    assert_eq!(
        shared_with(&admin, "editor", &map).await,
        ("private".into(), vec![])
    );
    // … and as an administrator on the owner's behalf, a private item the same.
    let answer = share(&admin, &owner_path, &elsewhere, &[]).await;
    assert_eq!(answer["notSharedWith"], json!([elsewhere]));
    assert_eq!(
        shared_with(&admin, "editor", &map).await.1,
        Vec::<String>::new()
    );

    // A view-only group takes items from its owner and managers only.
    let announcements = admin
        .create_group(&[("title", "Announcements"), ("isViewOnly", "true")])
        .await
        .unwrap();
    add_member(&admin, &announcements, "editor").await;
    let answer = share(&editor, &owner_path, &announcements, &[]).await;
    assert_eq!(answer["notSharedWith"], json!([announcements]));
    ok(
        &admin,
        &format!("community/groups/{announcements}/updateUsers"),
        &[("admins", "editor")],
    )
    .await;
    let answer = share(&editor, &owner_path, &announcements, &[]).await;
    assert_eq!(answer["notSharedWith"], json!([]));

    // A shared-update group needs confirmItemControl, and the owner in it.
    let team = admin
        .create_group(&[
            ("title", "Edit team"),
            ("capabilities", "updateitemcontrol"),
        ])
        .await
        .unwrap();
    let answer = share(&admin, &owner_path, &team, &[]).await;
    assert_eq!(answer["notSharedWith"], json!([team]));
    let answer = share(
        &admin,
        &owner_path,
        &team,
        &[("confirmItemControl", "true")],
    )
    .await;
    assert_eq!(
        answer["notSharedWith"],
        json!([team]),
        "the owner is not in the group"
    );
    add_member(&admin, &team, "editor").await;
    let answer = share(
        &admin,
        &owner_path,
        &team,
        &[("confirmItemControl", "true")],
    )
    .await;
    assert_eq!(answer["notSharedWith"], json!([]));
    let mut both = vec![announcements.clone(), team.clone()];
    both.sort();
    assert_eq!(
        shared_with(&admin, "editor", &map).await,
        ("shared".into(), both)
    );
    // Its members update each other's items there, and do nothing else to them.
    invite(&admin, "sam.crew", "org_user").await;
    let sam = client(&s, "source", "sam.crew");
    let update = format!("content/users/editor/items/{map}/update");
    let (code, _) = refused(&sam, &update, &[("title", "Sam's")]).await;
    assert_eq!(code, 403, "not a member of the shared-update group yet");
    add_member(&admin, &team, "sam.crew").await;
    ok(&sam, &update, &[("title", "Edited by the team")]).await;
    assert_eq!(
        get(&admin, &format!("content/items/{map}"), &[]).await["title"],
        "Edited by the team"
    );
    let (code, _) = refused(
        &sam,
        &format!("content/users/editor/items/{map}/delete"),
        &[],
    )
    .await;
    assert_eq!(code, 403, "shared update does not delete");
    let (code, _) = refused(&sam, &owner_path, &[("everyone", "true")]).await;
    assert_eq!(code, 403, "shared update does not share");

    // An item shared with the organization goes into any group from an administrator.
    ok(&editor, &owner_path, &[("org", "true"), ("groups", " ")]).await;
    let answer = share(&admin, &owner_path, &elsewhere, &[]).await;
    assert_eq!(answer["notSharedWith"], json!([]));

    // Sharing as a group manager: managers may, plain members may not.
    let crew = admin.create_group(&[("title", "Crew")]).await.unwrap();
    add_member(&admin, &crew, "pat.field").await;
    let as_group_admin = format!("content/items/{map}/share");
    let answer = share(&pat, &as_group_admin, &crew, &[]).await;
    assert_eq!(answer["notSharedWith"], json!([crew]));
    ok(
        &admin,
        &format!("community/groups/{crew}/updateUsers"),
        &[("admins", "pat.field")],
    )
    .await;
    let answer = share(&pat, &as_group_admin, &crew, &[]).await;
    assert_eq!(answer["notSharedWith"], json!([]));

    // Search finds it as the JavaScript client asks (a space after each colon).
    let q = format!("id: {map} AND group: {crew}");
    assert_eq!(get(&admin, "search", &[("q", &q)]).await["total"], 1);

    // Unsharing: as a group manager, as the owner, and in bulk.
    let answer = ok(
        &pat,
        &format!("content/items/{map}/unshare"),
        &[("groups", &crew)],
    )
    .await;
    assert_eq!(answer["notUnsharedFrom"], json!([]));
    assert_eq!(get(&admin, "search", &[("q", &q)]).await["total"], 0);
    let answer = ok(
        &editor,
        &format!("content/users/editor/items/{map}/unshare"),
        &[("groups", &team)],
    )
    .await;
    assert_eq!(answer["notUnsharedFrom"], json!([]));
    let bulk = ok(
        &admin,
        "content/users/editor/unshareItems",
        &[
            ("items", &map),
            ("groups", &format!("{announcements},{elsewhere}")),
        ],
    )
    .await;
    assert_eq!(bulk["results"][0]["notUnsharedFrom"], json!([]));
    assert_eq!(
        shared_with(&admin, "editor", &map).await,
        ("org".into(), vec![])
    );

    // A viewer shares nothing, even what they own.
    let own = pat
        .add_text("pat.field", &[("title", "Own"), ("type", "Web Map")], "{}")
        .await
        .unwrap();
    ok(
        &admin,
        "portals/self/updateuserrole",
        &[("user", "pat.field"), ("role", "iAAAAAAAAAAAAAAA")],
    )
    .await;
    let (code, _) = refused(
        &pat,
        &format!("content/users/pat.field/items/{own}/share"),
        &[("org", "true")],
    )
    .await;
    assert_eq!(
        code, 403,
        "sharing with the organization needs portal:user:shareToOrg"
    );
    assert_eq!(
        shared_with(&admin, "pat.field", &own).await,
        ("private".into(), vec![])
    );
    let answer = ok(
        &pat,
        &format!("content/users/pat.field/items/{own}/share"),
        &[("groups", &crew)],
    )
    .await;
    assert_eq!(
        answer["notSharedWith"],
        json!([crew]),
        "nor into groups (no portal:user:shareToGroup)"
    );
}

#[tokio::test]
async fn a_recycled_item_keeps_its_id_and_service_url_and_comes_back_with_them() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let admin = client(&s, "source", "admin");
    let editor = client(&s, "source", "editor");
    let file = add_city_gdb(&editor).await;
    let published = editor
        .publish("editor", &file, "fileGeodatabase", r#"{"name":"City"}"#)
        .await
        .unwrap();
    let (service, url) = (
        published.service_item_id.clone(),
        published.service_url.clone().unwrap(),
    );
    let group = admin.create_group(&[("title", "Works")]).await.unwrap();
    add_member(&admin, &group, "editor").await;
    editor
        .share_item("editor", &service, false, false, &[&group])
        .await
        .unwrap();
    let folder = editor.create_folder("editor", "Kept").await.unwrap();

    // A view depends on the service: the service cannot be recycled before it.
    let view = editor
        .create_service("editor", None, r#"{"name":"City_view"}"#, true, &[])
        .await
        .unwrap();
    editor
        .add_to_definition(
            view.service_url.as_deref().unwrap(),
            r#"{"layers":[{"id":0,"name":"Hydrants","adminLayerInfo":{"viewLayerDefinition":{"sourceServiceName":"City","sourceLayerId":0,"sourceLayerFields":"*"}}}]}"#,
        )
        .await
        .unwrap();
    // `{"success": false, "error": {…, "offending": [the view]}}`: the client reads the error.
    let err = editor
        .call(
            "c",
            Method::Get,
            &format!("content/users/editor/items/{service}/canRecycle"),
            &[],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Unable to recycle item"), "{err}");
    let (_, message) = refused(
        &editor,
        &format!("content/users/editor/items/{service}/delete"),
        &[],
    )
    .await;
    assert!(message.contains("recycle"), "{message}");
    assert!(
        editor.item(&service).await.is_ok(),
        "refused, the service stays"
    );
    editor
        .delete_item("editor", &view.service_item_id)
        .await
        .unwrap();

    let can = get(
        &editor,
        &format!("content/users/editor/items/{service}/canRecycle"),
        &[],
    )
    .await;
    assert_eq!(can["success"], true);
    ok(
        &editor,
        &format!("content/users/editor/items/{service}/delete"),
        &[],
    )
    .await;
    assert!(
        editor.item(&service).await.is_err(),
        "a recycled item is seen by nothing"
    );
    assert!(
        editor
            .call(
                "q",
                Method::Get,
                &format!("{url}/0/query"),
                &[("where", "1=1"), ("returnCountOnly", "true")]
            )
            .await
            .is_err()
    );
    let available = get(
        &editor,
        "portals/self/isServiceNameAvailable",
        &[("name", "City"), ("type", "Feature Service")],
    )
    .await;
    assert_eq!(
        available["available"], false,
        "its service name stays taken"
    );
    let bin = get(&editor, "content/users/editor", &[("inRecycleBin", "true")]).await;
    assert_eq!(bin["items"][0]["id"], service.as_str());
    assert!(bin["items"][0]["recycledDate"].as_i64().is_some());

    assert_eq!(
        get(
            &editor,
            &format!("content/users/editor/items/{service}/canRestore"),
            &[]
        )
        .await["success"],
        true
    );
    ok(
        &editor,
        &format!("content/users/editor/items/{service}/restore"),
        &[("folder", &folder)],
    )
    .await;
    let back = admin.user_item("editor", &service).await.unwrap();
    assert_eq!(back["item"]["id"], service.as_str());
    assert_eq!(back["item"]["url"], url.as_str());
    assert_eq!(back["item"]["ownerFolder"], folder.as_str());
    assert_eq!(
        back["sharing"]["groups"],
        json!([group]),
        "its sharing comes back too"
    );
    let count = get(
        &editor,
        &format!("{url}/0/query"),
        &[("where", "1=1"), ("returnCountOnly", "true")],
    )
    .await;
    assert!(
        count["count"].as_u64().unwrap() > 0,
        "the service answers again"
    );

    // Purge: permanently deleting a recycled item.
    ok(
        &editor,
        &format!("content/users/editor/items/{file}/delete"),
        &[],
    )
    .await;
    ok(
        &editor,
        &format!("content/users/editor/items/{file}/delete"),
        &[("permanentDelete", "true")],
    )
    .await;
    assert_eq!(
        get(&editor, "content/users/editor", &[("inRecycleBin", "true")]).await["total"],
        0
    );

    // ArcGIS Enterprise deletes for good and has no recycle bin.
    s.add_enterprise_org("ent", "Enterprise").unwrap();
    s.add_user("ent", "admin", PW, "org_admin").unwrap();
    let ent = client(&s, "ent", "admin");
    let item = ent
        .add_text("admin", &[("title", "Gone"), ("type", "Web Map")], "{}")
        .await
        .unwrap();
    let (code, _) = match ent
        .call(
            "c",
            Method::Get,
            &format!("content/users/admin/items/{item}/canRecycle"),
            &[],
        )
        .await
    {
        Err(e) => match e.kind {
            ErrorKind::Portal { code, message, .. } => (code, message),
            k => panic!("{k}"),
        },
        Ok(v) => panic!("{v}"),
    };
    assert_eq!(code, 400);
    ok(
        &ent,
        &format!("content/users/admin/items/{item}/delete"),
        &[],
    )
    .await;
    let (_, message) = refused(
        &ent,
        &format!("content/users/admin/items/{item}/restore"),
        &[],
    )
    .await;
    assert!(!message.is_empty());
}
