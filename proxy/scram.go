package proxy

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// scramMechanism is the only SASL mechanism pgwarp offers clients.
const scramMechanism = "SCRAM-SHA-256"

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// scramVerifier is a stored SCRAM-SHA-256 secret, as in pg_authid.rolpassword:
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. It does not
// allow logging in elsewhere: the password cannot be recovered from it.
type scramVerifier struct {
	iterations int
	salt       []byte
	storedKey  []byte
	serverKey  []byte
}

// newSCRAMVerifier derives a verifier from a plaintext password with a fresh
// random salt.
func newSCRAMVerifier(password string) (*scramVerifier, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return deriveSCRAMVerifier(password, salt, scramIterations)
}

func deriveSCRAMVerifier(password string, salt []byte, iterations int) (*scramVerifier, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return nil, err
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	stored := sha256.Sum256(clientKey)
	return &scramVerifier{
		iterations: iterations,
		salt:       salt,
		storedKey:  stored[:],
		serverKey:  hmacSHA256(salted, []byte("Server Key")),
	}, nil
}

// parseSCRAMVerifier decodes the textual form of a verifier.
func parseSCRAMVerifier(s string) (*scramVerifier, error) {
	bad := errors.New("invalid SCRAM verifier: expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")
	rest, ok := strings.CutPrefix(s, "SCRAM-SHA-256$")
	if !ok {
		return nil, bad
	}
	iterSalt, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, bad
	}
	iterS, saltS, ok1 := strings.Cut(iterSalt, ":")
	storedS, serverS, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return nil, bad
	}
	iter, err := strconv.Atoi(iterS)
	if err != nil || iter < 1 {
		return nil, bad
	}
	v := &scramVerifier{iterations: iter}
	if v.salt, err = base64.StdEncoding.DecodeString(saltS); err != nil {
		return nil, bad
	}
	if v.storedKey, err = base64.StdEncoding.DecodeString(storedS); err != nil || len(v.storedKey) != sha256.Size {
		return nil, bad
	}
	if v.serverKey, err = base64.StdEncoding.DecodeString(serverS); err != nil || len(v.serverKey) != sha256.Size {
		return nil, bad
	}
	return v, nil
}

// String encodes the verifier in PostgreSQL's format.
func (v *scramVerifier) String() string {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", v.iterations, b64(v.salt), b64(v.storedKey), b64(v.serverKey))
}

// matches reports whether password derives this verifier (used to recognise
// a password the upstream accepted earlier).
func (v *scramVerifier) matches(password string) bool {
	w, err := deriveSCRAMVerifier(password, v.salt, v.iterations)
	return err == nil && subtle.ConstantTimeCompare(w.storedKey, v.storedKey) == 1
}

// mockSCRAMVerifier returns a verifier for a user that does not exist, whose
// salt is stable per user name, so that an attacker cannot tell unknown
// users from wrong passwords (PostgreSQL's scram_mock_salt).
func mockSCRAMVerifier(secret []byte, user string) *scramVerifier {
	salt := hmacSHA256(secret, []byte("mock salt:"+user))[:16]
	return &scramVerifier{iterations: scramIterations, salt: salt,
		storedKey: hmacSHA256(secret, []byte("mock stored:"+user)),
		serverKey: hmacSHA256(secret, []byte("mock server:"+user))}
}

// scramExchange is the server side of one SCRAM-SHA-256 authentication
// (RFC 5802, RFC 7677, as PostgreSQL implements it: the user name inside the
// SCRAM messages is ignored in favour of the startup packet's, and channel
// binding is not offered).
type scramExchange struct {
	v               *scramVerifier
	mock            bool
	clientFirstBare string
	serverFirst     string
	nonce           string
	gs2Header       string
}

var errSCRAMMalformed = newFatal(CodeProtocolViolation, "malformed SCRAM message")

// start handles SASLInitialResponse and returns the server-first-message.
func (x *scramExchange) start(mechanism string, clientFirst []byte) ([]byte, error) {
	if mechanism != scramMechanism {
		return nil, newFatal(CodeProtocolViolation, "client selected an invalid SASL authentication mechanism")
	}
	msg := string(clientFirst)
	// gs2-header: n,, | y,, | p=<cb>,, — channel binding was not offered.
	var bare string
	switch {
	case strings.HasPrefix(msg, "n,"), strings.HasPrefix(msg, "y,"):
		authz, rest, ok := strings.Cut(msg[2:], ",")
		if !ok || authz != "" {
			return nil, errSCRAMMalformed
		}
		x.gs2Header = msg[:2] + authz + ","
		bare = rest
	case strings.HasPrefix(msg, "p="):
		return nil, newFatal(CodeProtocolViolation, "channel binding is not supported by pgwarp").
			withHint("connect with channel_binding=disable or prefer")
	default:
		return nil, errSCRAMMalformed
	}
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, errSCRAMMalformed
	}
	clientNonce := attrs[1][2:]
	if clientNonce == "" || !printableNonce(clientNonce) {
		return nil, errSCRAMMalformed
	}
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	x.clientFirstBare = bare
	x.nonce = clientNonce + base64.StdEncoding.EncodeToString(raw)
	x.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", x.nonce, base64.StdEncoding.EncodeToString(x.v.salt), x.v.iterations)
	return []byte(x.serverFirst), nil
}

func printableNonce(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// finish handles the client-final-message. It returns the server-final
// message on success, errBadPassword when the proof is wrong, or a protocol
// error.
func (x *scramExchange) finish(clientFinal []byte) ([]byte, error) {
	msg := string(clientFinal)
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, errSCRAMMalformed
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, errSCRAMMalformed
	}
	cb, err := base64.StdEncoding.DecodeString(attrs[0][2:])
	if err != nil || string(cb) != x.gs2Header {
		return nil, newFatal(CodeProtocolViolation, "SCRAM channel binding check failed")
	}
	if attrs[1][2:] != x.nonce {
		return nil, newFatal(CodeProtocolViolation, "SCRAM nonce mismatch")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return nil, errSCRAMMalformed
	}
	authMessage := []byte(x.clientFirstBare + "," + x.serverFirst + "," + withoutProof)
	clientSignature := hmacSHA256(x.v.storedKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	for i := range clientKey {
		clientKey[i] = proof[i] ^ clientSignature[i]
	}
	stored := sha256.Sum256(clientKey)
	if x.mock || subtle.ConstantTimeCompare(stored[:], x.v.storedKey) != 1 {
		return nil, errBadPassword
	}
	serverSignature := hmacSHA256(x.v.serverKey, authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSignature)), nil
}

// errBadPassword marks a failed password check; the caller turns it into
// 28P01 naming the user.
var errBadPassword = errors.New("password authentication failed")

func hmacSHA256(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

// md5Hash returns PostgreSQL's stored md5 form of a password:
// "md5" + hex(md5(password || user)).
func md5Hash(password, user string) string {
	sum := md5.Sum([]byte(password + user))
	return "md5" + hex.EncodeToString(sum[:])
}

// md5Response returns what a client sends for the stored hash and salt:
// "md5" + hex(md5(hex-part-of-hash || salt)).
func md5Response(storedHash string, salt [4]byte) string {
	sum := md5.Sum(append([]byte(strings.TrimPrefix(storedHash, "md5")), salt[:]...))
	return "md5" + hex.EncodeToString(sum[:])
}
