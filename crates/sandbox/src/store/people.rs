//! People: members with their roles, user types and profiles; custom roles; a member's groups;
//! handing a member's content and groups to another; the recycle bin's rows.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::Value;

use super::{Store, password_hash};

/// A member of an organization.
#[derive(Debug, Clone)]
pub struct User {
    /// The username.
    pub username: String,
    /// `org_admin`, `org_publisher` or `org_user` (a custom role's base level).
    pub role: String,
    /// The full name.
    pub full_name: String,
    /// Creation time, epoch ms.
    pub created: i64,
    /// Last change, epoch ms.
    pub modified: i64,
    /// A custom role's id, `None` for the three built-in roles.
    pub role_id: Option<String>,
    /// The user type (`creatorUT`, `viewerUT`, …).
    pub user_type: String,
    /// Whether the account is disabled (no sign-in, its tokens refused).
    pub disabled: bool,
    /// `email`, `firstName`, `lastName`, `description`, `tags`, `culture`, `region`, `thumbnail`.
    pub profile: Value,
}

/// A member to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// The username.
    pub username: &'a str,
    /// The password (stored hashed).
    pub password: &'a str,
    /// `org_admin`, `org_publisher` or `org_user`.
    pub role: &'a str,
    /// A custom role's id.
    pub role_id: Option<&'a str>,
    /// The full name.
    pub full_name: &'a str,
    /// The user type.
    pub user_type: &'a str,
    /// The profile (see [`User::profile`]).
    pub profile: Value,
}

/// A custom role.
#[derive(Debug, Clone)]
pub struct Role {
    /// Its id (16 characters, as the portal's).
    pub id: String,
    /// Its name, unique in the organization (case-insensitive).
    pub name: String,
    /// Its description.
    pub description: String,
    /// The privileges it grants.
    pub privileges: Vec<String>,
    /// Creation time, epoch ms.
    pub created: i64,
    /// Last change, epoch ms.
    pub modified: i64,
}

const USER_COLUMNS: &str =
    "username, role, full_name, created, modified, role_id, user_type, disabled, profile";

fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let profile: String = r.get(8)?;
    Ok(User {
        username: r.get(0)?,
        role: r.get(1)?,
        full_name: r.get(2)?,
        created: r.get(3)?,
        modified: r.get(4)?,
        role_id: r.get(5)?,
        user_type: r.get(6)?,
        disabled: r.get(7)?,
        profile: serde_json::from_str(&profile).unwrap_or(Value::Null),
    })
}

fn role_row(r: &Row<'_>) -> rusqlite::Result<Role> {
    let privileges: String = r.get(3)?;
    Ok(Role {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        privileges: serde_json::from_str(&privileges).unwrap_or_default(),
        created: r.get(4)?,
        modified: r.get(5)?,
    })
}

impl Store {
    /// Add a user with a built-in role (no-op when the username is taken).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_user(
        &self,
        org: &str,
        username: &str,
        password: &str,
        role: &str,
        full_name: &str,
        now: i64,
    ) -> rusqlite::Result<()> {
        let user = NewUser {
            username,
            password,
            role,
            role_id: None,
            full_name,
            user_type: "creatorUT",
            profile: serde_json::json!({}),
        };
        self.create_user(org, &user, now).map(|_| ())
    }

    /// Create a member; `false` when the username is taken (in any case).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn create_user(&self, org: &str, user: &NewUser<'_>, now: i64) -> rusqlite::Result<bool> {
        self.with(|c| {
            let taken: bool = c.query_row(
                "SELECT COUNT(*) > 0 FROM users WHERE org = ?1 AND lower(username) = lower(?2)",
                [org, user.username],
                |r| r.get(0),
            )?;
            if taken {
                return Ok(false);
            }
            c.execute(
                "INSERT INTO users (org, username, password_sha256, role, full_name, created, modified, role_id, user_type, profile)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9)",
                params![
                    org,
                    user.username,
                    password_hash(org, user.username, user.password),
                    user.role,
                    user.full_name,
                    now,
                    user.role_id,
                    user.user_type,
                    user.profile.to_string()
                ],
            )?;
            Ok(true)
        })
    }

    /// Whether any ArcGIS Online-style organization has a member of this name (in any case):
    /// ArcGIS Online's usernames are unique across every organization.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn username_taken_online(&self, username: &str) -> rusqlite::Result<bool> {
        self.with(|c| {
            c.query_row(
                "SELECT COUNT(*) > 0 FROM users JOIN orgs ON orgs.key = users.org
                 WHERE orgs.is_portal = 0 AND lower(users.username) = lower(?1)",
                [username],
                |r| r.get(0),
            )
        })
    }

    /// The user when `password` is theirs (disabled or not: the caller decides).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn check_password(
        &self,
        org: &str,
        username: &str,
        password: &str,
    ) -> rusqlite::Result<Option<User>> {
        let user = self.user(org, username)?;
        let stored: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT password_sha256 FROM users WHERE org = ?1 AND username = ?2",
                [org, username],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(user
            .filter(|_| stored.as_deref() == Some(password_hash(org, username, password).as_str())))
    }

    /// A user.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn user(&self, org: &str, username: &str) -> rusqlite::Result<Option<User>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE org = ?1 AND username = ?2"),
                [org, username],
                user_row,
            )
            .optional()
        })
    }

    /// Every user of an organization, by username.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn users(&self, org: &str) -> rusqlite::Result<Vec<User>> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE org = ?1 ORDER BY username"
            ))?;
            stmt.query_map([org], user_row)?.collect()
        })
    }

    /// Write a user's role, user type, state, full name and profile back.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn update_user(&self, org: &str, user: &User, now: i64) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE users SET role = ?3, role_id = ?4, user_type = ?5, disabled = ?6, full_name = ?7, profile = ?8, modified = ?9
                 WHERE org = ?1 AND username = ?2",
                params![
                    org,
                    user.username,
                    user.role,
                    user.role_id,
                    user.user_type,
                    user.disabled,
                    user.full_name,
                    user.profile.to_string(),
                    now
                ],
            )
            .map(|_| ())
        })
    }

    /// Remove a member with their tokens, folders and memberships (the caller has checked they
    /// own nothing).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_user(&self, org: &str, username: &str) -> rusqlite::Result<()> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "DELETE FROM tokens WHERE org = ?1 AND username = ?2",
                [org, username],
            )?;
            tx.execute(
                "DELETE FROM refresh_tokens WHERE org = ?1 AND username = ?2",
                [org, username],
            )?;
            tx.execute(
                "DELETE FROM folders WHERE org = ?1 AND owner = ?2",
                [org, username],
            )?;
            tx.execute(
                "DELETE FROM group_members WHERE username = ?2 AND grp IN (SELECT id FROM groups WHERE org = ?1)",
                [org, username],
            )?;
            tx.execute(
                "DELETE FROM users WHERE org = ?1 AND username = ?2",
                [org, username],
            )?;
            tx.execute(
                "DELETE FROM portraits WHERE kind = 'user' AND key = ?1",
                [format!("{org}/{username}")],
            )?;
            tx.commit()
        })
    }

    /// How many items (recycled ones too) and groups a member owns.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn owned(&self, org: &str, username: &str) -> rusqlite::Result<(i64, i64)> {
        self.with(|c| {
            let items: i64 = c.query_row(
                "SELECT COUNT(*) FROM items WHERE org = ?1 AND owner = ?2",
                [org, username],
                |r| r.get(0),
            )?;
            let groups: i64 = c.query_row(
                "SELECT COUNT(*) FROM group_members m JOIN groups g ON g.id = m.grp
                 WHERE g.org = ?1 AND m.username = ?2 AND m.member_type = 'owner'",
                [org, username],
                |r| r.get(0),
            )?;
            Ok((items, groups))
        })
    }

    /// The groups a member belongs to, with their membership type (`owner`, `admin`, `member`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn user_groups(&self, org: &str, username: &str) -> rusqlite::Result<Vec<(Value, String)>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT g.json, m.member_type FROM group_members m JOIN groups g ON g.id = m.grp
                 WHERE g.org = ?1 AND m.username = ?2 ORDER BY g.id",
            )?;
            stmt.query_map([org, username], |r| {
                let json: String = r.get(0)?;
                Ok((
                    serde_json::from_str(&json).unwrap_or(Value::Null),
                    r.get(1)?,
                ))
            })?
            .collect()
        })
    }

    /// Set a member's membership type in a group (`admin` or `member`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_member_type(
        &self,
        group: &str,
        username: &str,
        member_type: &str,
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE group_members SET member_type = ?3 WHERE grp = ?1 AND username = ?2",
                [group, username, member_type],
            )
            .map(|_| ())
        })
    }

    /// Make `to` a group's owner; the previous owner stays as a manager.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_group_owner(&self, group: &str, to: &str) -> rusqlite::Result<()> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "UPDATE group_members SET member_type = 'admin' WHERE grp = ?1 AND member_type = 'owner'",
                [group],
            )?;
            tx.execute(
                "INSERT INTO group_members (grp, username, member_type) VALUES (?1, ?2, 'owner')
                 ON CONFLICT (grp, username) DO UPDATE SET member_type = 'owner'",
                [group, to],
            )?;
            tx.execute(
                "UPDATE groups SET json = json_set(json, '$.owner', ?2) WHERE id = ?1",
                [group, to],
            )?;
            tx.commit()
        })
    }

    /// Hand everything `from` owns to `to`: items of the root folder to `to`'s root, items of a
    /// folder to a folder of `to` named `<from>_<folder>` (made here), and the groups `from` owns.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn reassign_user(&self, org: &str, from: &str, to: &str, now: i64) -> rusqlite::Result<()> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let folders: Vec<(String, String)> = {
                let mut stmt =
                    tx.prepare("SELECT id, title FROM folders WHERE org = ?1 AND owner = ?2")?;
                stmt.query_map([org, from], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?
            };
            for (id, title) in folders {
                let new_id = crate::new_id();
                tx.execute(
                    "INSERT INTO folders (id, org, owner, title, created) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![new_id, org, to, format!("{from}_{title}"), now],
                )?;
                tx.execute(
                    "UPDATE items SET folder = ?2, json = json_set(json, '$.ownerFolder', ?2) WHERE folder = ?1",
                    [&id, &new_id],
                )?;
                tx.execute("DELETE FROM folders WHERE id = ?1", [&id])?;
            }
            tx.execute(
                "UPDATE items SET owner = ?3, json = json_set(json, '$.owner', ?3) WHERE org = ?1 AND owner = ?2",
                [org, from, to],
            )?;
            let owned: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT m.grp FROM group_members m JOIN groups g ON g.id = m.grp
                     WHERE g.org = ?1 AND m.username = ?2 AND m.member_type = 'owner'",
                )?;
                stmt.query_map([org, from], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            for group in owned {
                tx.execute(
                    "DELETE FROM group_members WHERE grp = ?1 AND username = ?2",
                    [&group, to],
                )?;
                tx.execute(
                    "UPDATE group_members SET username = ?2 WHERE grp = ?1 AND username = ?3",
                    [&group, to, from],
                )?;
                tx.execute(
                    "UPDATE groups SET json = json_set(json, '$.owner', ?2) WHERE id = ?1",
                    [&group, to],
                )?;
            }
            tx.commit()
        })
    }

    /// Add a custom role; `false` when its name is taken.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_role(&self, org: &str, role: &Role) -> rusqlite::Result<bool> {
        self.with(|c| {
            let added = c.execute(
                "INSERT OR IGNORE INTO roles (org, id, name, description, privileges, created, modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    org,
                    role.id,
                    role.name,
                    role.description,
                    serde_json::to_string(&role.privileges).unwrap_or_default(),
                    role.created,
                    role.modified
                ],
            )?;
            Ok(added == 1)
        })
    }

    /// The organization's custom roles, by creation.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn roles(&self, org: &str) -> rusqlite::Result<Vec<Role>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, description, privileges, created, modified FROM roles WHERE org = ?1 ORDER BY created, id",
            )?;
            stmt.query_map([org], role_row)?.collect()
        })
    }

    /// A custom role.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn role(&self, org: &str, id: &str) -> rusqlite::Result<Option<Role>> {
        self.with(|c| {
            c.query_row(
                "SELECT id, name, description, privileges, created, modified FROM roles WHERE org = ?1 AND id = ?2",
                [org, id],
                role_row,
            )
            .optional()
        })
    }

    /// Write a custom role back; `false` when its new name belongs to another role.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn update_role(&self, org: &str, role: &Role) -> rusqlite::Result<bool> {
        self.with(|c| {
            let clash: bool = c.query_row(
                "SELECT COUNT(*) > 0 FROM roles WHERE org = ?1 AND name = ?2 AND id != ?3",
                [org, &role.name, &role.id],
                |r| r.get(0),
            )?;
            if clash {
                return Ok(false);
            }
            c.execute(
                "UPDATE roles SET name = ?3, description = ?4, privileges = ?5, modified = ?6 WHERE org = ?1 AND id = ?2",
                params![
                    org,
                    role.id,
                    role.name,
                    role.description,
                    serde_json::to_string(&role.privileges).unwrap_or_default(),
                    role.modified
                ],
            )?;
            Ok(true)
        })
    }

    /// Delete a custom role (the caller has checked nobody holds it).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_role(&self, org: &str, id: &str) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM roles WHERE org = ?1 AND id = ?2", [org, id])
                .map(|_| ())
        })
    }

    /// Move an item to the recycle bin (`at`, epoch ms) or out of it (`None`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_recycled(&self, id: &str, at: Option<i64>) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE items SET recycled = ?2 WHERE id = ?1",
                params![id, at],
            )
            .map(|_| ())
        })
    }

    /// The recycled items of an organization (of `owner` when given), with when each was
    /// recycled: (item, recycled at).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn recycled(
        &self,
        org: &str,
        owner: Option<&str>,
    ) -> rusqlite::Result<Vec<(super::StoredItem, i64)>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT json, owner, folder, recycled FROM items
                 WHERE org = ?1 AND recycled IS NOT NULL AND (?2 IS NULL OR owner = ?2)
                 ORDER BY recycled, id",
            )?;
            stmt.query_map(params![org, owner], |r| {
                let json: String = r.get(0)?;
                Ok((
                    super::StoredItem {
                        json: serde_json::from_str(&json).unwrap_or(Value::Null),
                        owner: r.get(1)?,
                        folder: r.get(2)?,
                        groups: Vec::new(),
                    },
                    r.get(3)?,
                ))
            })?
            .collect()
        })
    }
}

impl Store {
    /// A group's content category schema (`[]` when it has none).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn category_schema(&self, group: &str) -> rusqlite::Result<Value> {
        let raw: Option<Option<String>> = self.with(|c| {
            c.query_row(
                "SELECT category_schema FROM groups WHERE id = ?1",
                [group],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(raw
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_else(|| Value::Array(Vec::new())))
    }

    /// Replace a group's content category schema.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_category_schema(&self, group: &str, schema: &Value) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE groups SET category_schema = ?2, json = json_set(json, '$.hasCategorySchema', json(?3)) WHERE id = ?1",
                params![
                    group,
                    schema.to_string(),
                    if schema.as_array().is_some_and(|a| !a.is_empty()) { "true" } else { "false" }
                ],
            )
            .map(|_| ())
        })
    }
}

impl Store {
    /// An item live or in the recycle bin, with when it was recycled.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn item_anywhere(
        &self,
        org: &str,
        id: &str,
    ) -> rusqlite::Result<Option<(super::StoredItem, Option<i64>)>> {
        let row: Option<(String, String, Option<String>, Option<i64>)> = self.with(|c| {
            c.query_row(
                "SELECT json, owner, folder, recycled FROM items WHERE org = ?1 AND id = ?2",
                [org, id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
        })?;
        let Some((json, owner, folder, recycled)) = row else {
            return Ok(None);
        };
        let groups = self.with(|c| {
            let mut stmt = c.prepare("SELECT grp FROM item_groups WHERE item = ?1 ORDER BY grp")?;
            stmt.query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })?;
        Ok(Some((
            super::StoredItem {
                json: serde_json::from_str(&json).unwrap_or(Value::Null),
                owner,
                folder,
                groups,
            },
            recycled,
        )))
    }

    /// Delete for good what has been in the recycle bin since before `before` (epoch ms).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn purge_recycled(&self, org: &str, before: i64) -> rusqlite::Result<usize> {
        self.with(|c| {
            let n = c.execute(
                "DELETE FROM items WHERE org = ?1 AND recycled IS NOT NULL AND recycled < ?2",
                params![org, before],
            )?;
            self.sweep(c)?;
            Ok(n)
        })
    }
}

impl Store {
    /// Set a group's (`kind` `group`, `key` its id) or a user's (`user`, `<org>/<username>`)
    /// thumbnail.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn put_portrait(
        &self,
        kind: &str,
        key: &str,
        name: &str,
        data: &[u8],
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO portraits (kind, key, name, data) VALUES (?1, ?2, ?3, ?4)",
                params![kind, key, name, data],
            )
            .map(|_| ())
        })
    }

    /// A group's or user's thumbnail: (file name, bytes).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn portrait(&self, kind: &str, key: &str) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
        self.with(|c| {
            c.query_row(
                "SELECT name, data FROM portraits WHERE kind = ?1 AND key = ?2",
                [kind, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }
}

impl Store {
    /// The organization's settings set through `portals/self/update` and its category schema,
    /// by key (values are JSON).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn org_settings(&self, org: &str) -> rusqlite::Result<serde_json::Map<String, Value>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT key, value FROM org_settings WHERE org = ?1")?;
            let rows = stmt.query_map([org], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = serde_json::Map::new();
            for row in rows {
                let (k, v) = row?;
                out.insert(k, serde_json::from_str(&v).unwrap_or(Value::String(v)));
            }
            Ok(out)
        })
    }

    /// Set some of the organization's settings at once.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_org_settings(
        &self,
        org: &str,
        settings: &[(String, Value)],
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            for (k, v) in settings {
                tx.execute(
                    "INSERT INTO org_settings (org, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (org, key) DO UPDATE SET value = excluded.value",
                    params![org, k, v.to_string()],
                )?;
            }
            tx.commit()
        })
    }
}
