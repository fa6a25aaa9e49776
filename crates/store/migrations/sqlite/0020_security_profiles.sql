-- OCPP security profile 3: the platform's certificate authority signs chargers' certificate
-- signing requests (SignCertificate, answered by CertificateSigned) and is what their TLS client
-- certificates are verified against. One row; its private key sealed with the secret key.
CREATE TABLE certificate_authority (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    certificate_pem TEXT    NOT NULL,
    key_sealed      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
-- The lowest security profile a charger may connect with: 1 HTTP Basic, 2 HTTP Basic over TLS,
-- 3 a TLS client certificate. Raised to 3 by the charger's first connection with its
-- certificate; set through the API or the command line.
ALTER TABLE chargers ADD COLUMN security_profile INTEGER NOT NULL DEFAULT 1;
