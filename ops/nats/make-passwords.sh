#!/usr/bin/env bash
# make-passwords.sh DIR [CONF]: one random password per user of the nats-server
# configuration CONF (default: nats-server.conf beside this script).
#
#   DIR/<user>.pass      the password, for trueup's nats.password_file (mode 0600; copy
#                        each to the host of its component only)
#   DIR/passwords.conf   bcrypt hashes, `<USER>_PASSWORD = "$2b$..."` (mode 0600), for
#                        nats-server: install it beside nats-server.conf
#
# An existing DIR/<user>.pass is kept (its hash is recomputed), so running it again after
# adding a user changes nobody else's password; delete a .pass file to rotate it. The
# passwords are never printed. bcrypt comes from htpasswd (apache2-utils), mkpasswd (whois)
# or Python's crypt module, whichever is found first.
set -euo pipefail

dir=${1:?usage: make-passwords.sh DIR [nats-server.conf]}
conf=${2:-$(cd "$(dirname "$0")" && pwd)/nats-server.conf}
cost=${BCRYPT_COST:-11} # 4..31; tests use less

users=$(sed -n 's/^[[:space:]]*{[[:space:]]*user:[[:space:]]*\([A-Za-z0-9_-]*\),.*/\1/p' "$conf")
[ -n "$users" ] || { echo "make-passwords.sh: no users in $conf" >&2; exit 1; }

# bcrypt PASSWORD-FILE: prints the hash of the password in the file (never on a command line).
bcrypt() {
	if command -v htpasswd >/dev/null; then
		htpasswd -inBC "$cost" "" <"$1" | tr -d ':\n'
	elif command -v mkpasswd >/dev/null; then
		mkpasswd -m bcrypt -R "$cost" -s <"$1"
	elif [ -x /usr/bin/python3 ]; then
		/usr/bin/python3 -W ignore -c '
import crypt, sys
pw = open(sys.argv[1]).read().rstrip("\n")
print(crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** int(sys.argv[2]))))
' "$1" "$cost"
	else
		echo "make-passwords.sh: no bcrypt tool (install apache2-utils)" >&2
		return 1
	fi
}

umask 077
mkdir -p "$dir"
out=$dir/passwords.conf.tmp
{
	echo "# bcrypt hashes of trueup's NATS users, made by ops/nats/make-passwords.sh"
	for u in $users; do
		pass=$dir/$u.pass
		if [ ! -s "$pass" ]; then
			# 32 random bytes, hex: no character that needs quoting anywhere
			od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$pass"
			echo >>"$pass"
		fi
		hash=$(bcrypt "$pass")
		case $hash in
		'$2'*) ;;
		*) echo "make-passwords.sh: no bcrypt hash for $u" >&2; exit 1 ;;
		esac
		var=$(echo "$u" | tr 'a-z-' 'A-Z_')_PASSWORD
		printf '%s = "%s"\n' "$var" "$hash"
	done
} >"$out"
mv "$out" "$dir/passwords.conf"
echo "make-passwords.sh: $(echo "$users" | wc -w) users in $dir/passwords.conf; passwords in $dir/<user>.pass"
