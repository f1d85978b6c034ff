/*
 * The parent's check of what the engine sends (message.h): a compromised
 * engine can ask only for what a valid knock could get -- one protected
 * port for one address, for open_seconds -- and nothing it sends can make
 * the parent read out of bounds or log a forged line.
 */
#include "knockd/message.h"

#include <errno.h>
#include <string.h>

static bool text_ok(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == size)
		return false; /* not terminated */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"')
			return false;
	for (size_t i = len; i < size; i++)
		if (s[i] != '\0')
			return false;
	return true;
}

int knock_message_accept_check(const void *buf, size_t len, const struct knock_ports *protect,
                               uint64_t now, uint64_t time_window, struct knock_msg_accept *out)
{
	static const uint8_t zero[12];
	struct knock_msg_accept m;

	if (len != sizeof(m))
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	if (m.type != KNOCK_MSG_ACCEPT || m.zero != 0)
		return -EBADMSG;
	if (m.family != KNOCK_ADDRESS_IPV4 && m.family != KNOCK_ADDRESS_IPV6)
		return -EBADMSG;
	if (m.family == KNOCK_ADDRESS_IPV4 && memcmp(m.address + 4, zero, 12) != 0)
		return -EBADMSG;
	if ((m.protocol != 6 && m.protocol != 17) || m.port == 0 ||
	    !knock_ports_contain(protect, m.protocol, m.port))
		return -EBADMSG;
	if (m.expires == 0 || m.expires > now + 2 * time_window + 1)
		return -EBADMSG;
	if (!text_ok(m.subject, sizeof(m.subject)) || !text_ok(m.source, sizeof(m.source)))
		return -EBADMSG;
	*out = m;
	return 0;
}

int knock_message_status_check(const void *buf, size_t len, struct knock_msg_status *out)
{
	if (len != sizeof(*out))
		return -EBADMSG;
	memcpy(out, buf, sizeof(*out));
	return out->type == KNOCK_MSG_STATUS ? 0 : -EBADMSG;
}
