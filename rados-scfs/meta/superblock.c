/*
 * mkfs and the mount's superblock check (superblock.h). The metadata key
 * exists in memory only between its Shamir split (mkfs) or combination
 * (mount) and the key derivation; it is wiped right after.
 */
#include "superblock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/crypto.h"
#include "common/util.h"
#include "common/shamir.h"

static void root_inode(uint64_t ino, uint32_t chunk_size, struct meta_inode *out)
{
	double now = sc_now_wall();
	struct meta_time t = {(int64_t)now, (uint32_t)((now - (double)(int64_t)now) * 1e9)};

	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->mode = S_IFDIR | 0755;
	out->nlink = 2;
	out->parent = ino;
	out->atime = out->mtime = out->ctime = t;
	out->chunk_size = chunk_size;
}

int meta_mkfs(struct meta *m, const struct meta_mkfs_params *p, struct meta_superblock *out,
              char *msg, size_t msg_len)
{
	struct meta_superblock sb = {0};
	uint8_t mkey[META_KEY_LEN], shares[META_MAX_CLUSTERS][SC_SHAMIR_LEN];
	struct meta_keys keys = {0};
	struct meta_inode root;
	unsigned n = meta_n(m);
	int r;

	msg[0] = 0;
	if (strlen(p->name) == 0 || strlen(p->name) > META_FSNAME_MAX) {
		snprintf(msg, msg_len, "file system name must be 1-%d bytes", META_FSNAME_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!meta_cluster_connected(m, i)) {
			snprintf(msg, msg_len, "mkfs needs every cluster: %s is not reachable",
			         meta_cluster_name(m, i));
			return -EHOSTUNREACH;
		}
		uint8_t *b;
		size_t l;
		r = meta_sb_read(m, i, &b, &l);
		if (r == 0) {
			free(b);
			snprintf(
			    msg, msg_len,
			    "cluster %s already holds file system '%s' (pool namespace in use)",
			    meta_cluster_name(m, i), p->name);
			return -EEXIST;
		}
		if (r != -ENOENT) {
			snprintf(msg, msg_len, "cluster %s: cannot read the superblock: %s",
			         meta_cluster_name(m, i), strerror(-r));
			return r;
		}
	}
	r = sc_random_bytes(sb.fs_id, META_FSID_LEN);
	if (r < 0)
		return r;
	snprintf(sb.name, sizeof(sb.name), "%s", p->name);
	sb.n = (uint8_t)n;
	sb.f = (uint8_t)p->f;
	sb.protocol = (uint8_t)p->protocol;
	sb.chunk_size = p->chunk_size;
	sb.root_ino = meta_new_ino();
	sb.created_ns = (uint64_t)(sc_now_wall() * 1e9);
	sb.writer_count = 1;
	r = sc_ed25519_public(p->priv, sb.writers[0]);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		snprintf(sb.clusters[i].name, sizeof(sb.clusters[i].name), "%s",
		         meta_cluster_name(m, i));
		r = meta_cluster_fsid(m, i, sb.clusters[i].fsid, sizeof(sb.clusters[i].fsid));
		if (r < 0) {
			snprintf(msg, msg_len, "cluster %s: no fsid: %s", meta_cluster_name(m, i),
			         strerror(-r));
			return r;
		}
	}
	if (p->protocol == 2) {
		r = sc_random_bytes(mkey, sizeof(mkey));
		if (r == 0)
			r = sc_shamir_split(mkey, n, p->f + 1, shares);
		if (r < 0)
			goto out;
		for (unsigned i = 0; i < n; i++)
			sc_sha256(shares[i], SC_SHAMIR_LEN, sb.share_digest[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *buf;
		size_t len;
		sb.index = (uint8_t)i;
		sb.share_len = p->protocol == 2 ? META_KEY_LEN : 0;
		if (p->protocol == 2)
			memcpy(sb.share, shares[i], META_KEY_LEN);
		r = meta_sb_encode(&sb, p->priv, &buf, &len);
		if (r < 0)
			goto out;
		r = meta_sb_write(m, i, buf, len);
		sc_wipe(buf, len);
		free(buf);
		if (r < 0) {
			snprintf(msg, msg_len, "cluster %s: cannot write the superblock: %s",
			         meta_cluster_name(m, i), strerror(-r));
			goto out;
		}
	}
	/* The root directory, sealed like every other record. */
	memcpy(keys.fs_id, sb.fs_id, META_FSID_LEN);
	r = meta_keys_derive(&keys, p->protocol == 2 ? mkey : NULL);
	if (r < 0)
		goto out;
	keys.has_priv = true;
	memcpy(keys.priv, p->priv, META_KEY_LEN);
	meta_writer_id(sb.writers[0], &keys.writer_id);
	keys.writer_count = 1;
	memcpy(keys.writers[0], sb.writers[0], META_KEY_LEN);
	meta_set_keys(m, &keys);
	root_inode(sb.root_ino, sb.chunk_size, &root);
	r = meta_inode_put(m, &root, NULL);
	if (r < 0) {
		snprintf(msg, msg_len, "cannot write the root directory: %s", strerror(-r));
		goto out;
	}
	sb.share_len = 0;
	memset(sb.share, 0, sizeof(sb.share));
	*out = sb;
out:
	sc_wipe(mkey, sizeof(mkey));
	sc_wipe(shares, sizeof(shares));
	sc_wipe(&keys, sizeof(keys));
	sc_wipe(&sb, sizeof(sb));
	return r;
}

int meta_mount_check(struct meta *m, const char *name, const uint8_t *priv,
                     const uint8_t pub[META_KEY_LEN], struct meta_superblock *sb,
                     struct meta_keys *keys, char *msg, size_t msg_len, char *note, size_t note_len)
{
	struct meta_superblock got[META_MAX_CLUSTERS];
	int res[META_MAX_CLUSTERS];
	unsigned n = meta_n(m), absent = 0, answered = 0, best = 0, best_votes = 0;
	size_t nl = 0;
	uint8_t mkey[META_KEY_LEN], shares[META_MAX_CLUSTERS * SC_SHAMIR_LEN];
	unsigned idx[META_MAX_CLUSTERS], nshares = 0, writer = META_MAX_WRITERS;
	int r = 0;

	msg[0] = note[0] = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *buf;
		size_t len;
		res[i] = meta_sb_read(m, i, &buf, &len);
		if (res[i] == 0) {
			res[i] = meta_sb_parse(buf, len, &got[i]);
			sc_wipe(buf, len);
			free(buf);
		}
		if (res[i] == -ENOTCONN)
			continue;
		answered++;
		if (res[i] == -ENOENT)
			absent++;
	}
	if (answered && absent == answered) {
		snprintf(msg, msg_len, "unknown file system '%s': no cluster holds its superblock",
		         name);
		r = -ENOENT;
		goto out;
	}
	/* The superblock most clusters agree on. */
	for (unsigned i = 0; i < n; i++) {
		unsigned votes = 0;
		if (res[i] != 0)
			continue;
		for (unsigned j = 0; j < n; j++)
			if (res[j] == 0 && meta_sb_same(&got[i], &got[j]))
				votes++;
		if (votes > best_votes) {
			best_votes = votes;
			best = i;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (res[i] == -EDOM) {
			snprintf(msg, msg_len,
			         "cluster %s: the superblock's n and f break n >= 3f+1 (refused)",
			         meta_cluster_name(m, i));
			r = -EDOM;
			goto out;
		}
	}
	if (best_votes == 0) {
		snprintf(msg, msg_len, "file system '%s': no valid superblock on any cluster",
		         name);
		r = -EBADMSG;
		goto out;
	}
	*sb = got[best];
	if (sb->n != n) {
		snprintf(msg, msg_len, "file system '%s' has %u clusters, --clusters names %u",
		         name, sb->n, n);
		r = -EXDEV;
		goto out;
	}
	if (strcmp(sb->name, name) != 0) {
		snprintf(msg, msg_len, "the superblock names file system '%s', not '%s'", sb->name,
		         name);
		r = -ENOENT;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		char fsid[40];
		if (strcmp(sb->clusters[i].name, meta_cluster_name(m, i)) != 0) {
			snprintf(msg, msg_len,
			         "cluster %u of file system '%s' is %s, --clusters names %s there",
			         i + 1, name, sb->clusters[i].name, meta_cluster_name(m, i));
			r = -EXDEV;
			goto out;
		}
		if (meta_cluster_fsid(m, i, fsid, sizeof(fsid)) == 0 &&
		    strcmp(fsid, sb->clusters[i].fsid) != 0) {
			snprintf(msg, msg_len,
			         "cluster %s has fsid %s, but file system '%s' was made on fsid %s",
			         meta_cluster_name(m, i), fsid, name, sb->clusters[i].fsid);
			r = -EXDEV;
			goto out;
		}
	}
	if (best_votes < (unsigned)(sb->n - sb->f)) {
		snprintf(msg, msg_len,
		         "file system '%s': only %u clusters agree on the superblock, need %u",
		         name, best_votes, sb->n - sb->f);
		r = -EBADMSG;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (res[i] == -ENOTCONN)
			continue;
		if (res[i] != 0 || !meta_sb_same(&got[i], sb) || got[i].index != i) {
			nl +=
			    (size_t)snprintf(note + nl, nl < note_len ? note_len - nl : 0,
			                     "%scluster %s: superblock %s, ignored", nl ? "; " : "",
			                     meta_cluster_name(m, i),
			                     res[i] == -ENOENT    ? "missing"
			                     : res[i] == -EBADMSG ? "fails its signature or checks"
			                     : res[i]             ? strerror(-res[i])
			                                          : "disagrees");
			continue;
		}
		if (sb->protocol == 2 && nshares < sb->f + 1u) {
			memcpy(shares + nshares * SC_SHAMIR_LEN, got[i].share, SC_SHAMIR_LEN);
			idx[nshares++] = i;
		}
	}
	for (unsigned w = 0; w < sb->writer_count; w++)
		if (sc_memcmp_const(sb->writers[w], pub, META_KEY_LEN) == 0)
			writer = w;
	if (writer == META_MAX_WRITERS) {
		char hex[2 * META_KEY_LEN + 1];
		sc_hex_encode(pub, META_KEY_LEN, hex);
		snprintf(msg, msg_len, "key %.16s... is not a writer of file system '%s'", hex,
		         name);
		r = -EKEYREJECTED;
		goto out;
	}
	memset(keys, 0, sizeof(*keys));
	memcpy(keys->fs_id, sb->fs_id, META_FSID_LEN);
	if (sb->protocol == 2) {
		if (nshares < sb->f + 1u) {
			snprintf(msg, msg_len, "file system '%s': only %u key shares, need %u",
			         name, nshares, sb->f + 1u);
			r = -EBADMSG;
			goto out;
		}
		r = sc_shamir_combine(idx, shares, nshares, mkey);
		if (r == 0)
			r = meta_keys_derive(keys, mkey);
	} else {
		r = meta_keys_derive(keys, NULL);
	}
	if (r < 0)
		goto out;
	keys->writer_count = sb->writer_count;
	memcpy(keys->writers, sb->writers, sizeof(keys->writers));
	meta_writer_id(pub, &keys->writer_id);
	if (priv) {
		keys->has_priv = true;
		memcpy(keys->priv, priv, META_KEY_LEN);
	}
	sb->share_len = 0;
	memset(sb->share, 0, sizeof(sb->share));
out:
	sc_wipe(got, sizeof(got));
	sc_wipe(mkey, sizeof(mkey));
	sc_wipe(shares, sizeof(shares));
	return r;
}
