/* The nftables guard of user-mode NAT (netguard.c) and the guest's network
 * line: what they say, for every allowed service and each QEMU user. */
#include <string.h>

#include "base/config.h"
#include "check.h"
#include "net/bridge.h"
#include "net/netguard.h"

int main(void)
{
	struct hv_config c;
	hv_config_defaults(&c);
	struct vj_err err = {0};
	char rules[4096], line[160];
	c.network = HV_NET_USER;
	unsigned uids[] = {999};
	CHECK(hv_netguard_rules(&c, uids, 1, rules, sizeof(rules), &err) == 0);
	CHECK(strstr(rules, "table inet vmjob {}\ndelete table inet vmjob\n") == rules);
	CHECK(strstr(rules, "type filter hook output priority 0; policy accept;"));
	CHECK(strstr(rules, "meta skuid 999 meta l4proto tcp fib daddr type local reject with tcp reset"));
	CHECK(strstr(rules, "meta skuid 999 fib daddr type local reject\n"));
	CHECK(!strstr(rules, "accept\n\t\tmeta")); /* nothing allowed by default */
	c.nnet_allow = 2;
	strcpy(c.net_allow[0].addr, "127.0.0.1");
	c.net_allow[0].port = 8642;
	strcpy(c.net_allow[1].addr, "::1");
	c.net_allow[1].port = 53;
	c.net_allow[1].udp = true;
	unsigned two[] = {999, 64055};
	CHECK(hv_netguard_rules(&c, two, 2, rules, sizeof(rules), &err) == 0);
	CHECK(strstr(rules, "meta skuid 999 ip daddr 127.0.0.1 tcp dport 8642 accept"));
	CHECK(strstr(rules, "meta skuid 64055 ip6 daddr ::1 udp dport 53 accept"));
	/* The exceptions come before the drop. */
	CHECK(strstr(rules, "tcp dport 8642 accept") < strstr(rules, "skuid 999 fib daddr"));
	CHECK(hv_netguard_rules(&c, two, 2, rules, 64, &err) < 0 && strstr(err.msg, "too long"));

	hv_net_cmdline(&c, line, sizeof(line));
	CHECK(!strcmp(line, " vmjob.net=10.0.2.15/24,10.0.2.2"));
	strcpy(c.guest_dns, "10.77.0.1");
	hv_net_cmdline(&c, line, sizeof(line));
	CHECK(!strcmp(line, " vmjob.net=10.0.2.15/24,10.0.2.2,10.77.0.1"));
	c.network = HV_NET_BRIDGE;
	hv_net_cmdline(&c, line, sizeof(line));
	CHECK(!strcmp(line, " vmjob.net=dhcp,10.77.0.1"));
	c.guest_dns[0] = '\0';
	hv_net_cmdline(&c, line, sizeof(line));
	CHECK(!strcmp(line, " vmjob.net=dhcp"));
	c.network = HV_NET_NONE;
	hv_net_cmdline(&c, line, sizeof(line));
	CHECK(line[0] == '\0');

	/* The bridge guard: frames from vmjob taps to this host are dropped,
	 * ARP and the allowed services first. */
	CHECK(hv_netguard_bridge_rules(&c, rules, sizeof(rules), &err) == 0);
	CHECK(strstr(rules, "table bridge vmjob {}\ndelete table bridge vmjob\n") == rules);
	CHECK(strstr(rules, "type filter hook input priority -200; policy accept;"));
	CHECK(strstr(rules, "iifname \"vj*\" ip daddr 127.0.0.1 tcp dport 8642 accept"));
	CHECK(strstr(rules, "iifname \"vj*\" ip6 daddr ::1 udp dport 53 accept"));
	CHECK(strstr(rules, "iifname \"vj*\" ether type arp accept") < strstr(rules, "drop"));
	CHECK(strstr(rules, "udp dport 53 accept") < strstr(rules, "iifname \"vj*\" drop\n"));
	CHECK(hv_netguard_bridge_rules(&c, rules, 64, &err) < 0);

	/* MAC and tap: the same for the same node, instance and job; another
	 * node (a job's second VM) or job gets others; the MAC is unicast and
	 * locally administered, the tap fits IFNAMSIZ and has the prefix. */
	char m1[HV_MAC_SZ], t1[HV_TAP_SZ], m2[HV_MAC_SZ], t2[HV_TAP_SZ];
	hv_bridge_ids("node1", "/var/lib/vmjob", "42", m1, t1);
	hv_bridge_ids("node1", "/var/lib/vmjob", "42", m2, t2);
	CHECK(!strcmp(m1, m2) && !strcmp(t1, t2));
	CHECK(strlen(m1) == 17 && !strncmp(m1, "02:", 3));
	CHECK(strlen(t1) == 14 && !strncmp(t1, "vj", 2));
	hv_bridge_ids("node2", "/var/lib/vmjob", "42", m2, t2);
	CHECK(strcmp(m1, m2) && strcmp(t1, t2));
	hv_bridge_ids("node1", "/var/lib/vmjob", "43", m2, t2);
	CHECK(strcmp(m1, m2));
	return CHECK_DONE();
}
