//! The platform's certificate authority for OCPP security profile 3: created at first use (or
//! given, `evgrid ca import`), stored with its private key sealed, shared by every node of the
//! database. It signs chargers' certificate signing requests (SignCertificate, answered by
//! CertificateSigned) and is what their TLS client certificates are verified against.

use evgrid_model::StoredAuthority;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use x509_parser::prelude::FromDer;

use super::Charging;
use crate::AppError;

/// How long a certificate the platform signs for a charger is valid, days.
pub const CHARGER_CERTIFICATE_DAYS: i64 = 730;

/// How long the platform's own authority is valid, days.
const AUTHORITY_DAYS: i64 = 20 * 365;

/// The common name of the authority evgrid creates.
const AUTHORITY_NAME: &str = "evgrid charging platform CA";

/// Largest certificate signing request read, bytes of PEM (the OCPP field allows 5,500).
const MOST_CSR_BYTES: usize = 5_500;

/// The platform's certificate authority, its key opened.
#[derive(Clone)]
pub struct Authority {
    /// Its certificate, PEM: what chargers install as their CSMS root and what their client
    /// certificates are verified against.
    pub certificate_pem: String,
    key_pem: String,
    /// When it was created or given (Unix seconds).
    pub created_at: i64,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A charger's certificate signed by the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCertificate {
    /// The charger's certificate then the authority's, PEM (OCPP `certificateChain`).
    pub chain_pem: String,
    /// Its serial number, hexadecimal.
    pub serial: String,
    /// Valid until (Unix seconds).
    pub not_after: i64,
}

fn at(unix: i64) -> Result<time::OffsetDateTime, AppError> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|e| AppError::Invalid(format!("time {unix}: {e}")))
}

fn rcgen_error(what: &str, e: rcgen::Error) -> AppError {
    AppError::Invalid(format!("{what}: {e}"))
}

/// A random serial number: 16 bytes, the first below 0x80 (a positive DER integer).
fn random_serial() -> Result<(SerialNumber, String), AppError> {
    let mut bytes = crate::random_bytes(16)
        .map_err(|e| AppError::Invalid(format!("no randomness for a serial number: {e}")))?;
    bytes[0] &= 0x7f;
    let hex = crate::hex(&bytes);
    Ok((SerialNumber::from_slice(&bytes), hex))
}

impl Authority {
    /// A new authority: an ECDSA P-256 key and a self-signed CA certificate valid for 20
    /// years from `now`.
    pub fn create(now: i64) -> Result<Self, AppError> {
        let key = KeyPair::generate().map_err(|e| rcgen_error("a key for the authority", e))?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, AUTHORITY_NAME);
        name.push(DnType::OrganizationName, "evgrid");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = at(now - 3600)?;
        params.not_after = at(now + AUTHORITY_DAYS * 86_400)?;
        params.serial_number = Some(random_serial()?.0);
        let certificate = params
            .self_signed(&key)
            .map_err(|e| rcgen_error("the authority's certificate", e))?;
        Ok(Self {
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            created_at: now,
        })
    }

    /// An authority given as a PEM certificate and its PEM (PKCS#8) private key: the
    /// certificate must be a CA's and the key its own.
    pub fn given(certificate_pem: &str, key_pem: &str, now: i64) -> Result<Self, AppError> {
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| AppError::Invalid(format!("the private key: {e}")))?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(certificate_pem.as_bytes())
            .map_err(|e| AppError::Invalid(format!("the certificate is not PEM: {e}")))?;
        let cert = pem
            .parse_x509()
            .map_err(|e| AppError::Invalid(format!("the certificate: {e}")))?;
        if !cert.is_ca() {
            return Err(AppError::Invalid(
                "the certificate is not a certificate authority's (basic constraints CA)".into(),
            ));
        }
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(AppError::Invalid(
                "the private key is not the certificate's".into(),
            ));
        }
        Ok(Self {
            certificate_pem: certificate_pem.trim().to_owned() + "\n",
            key_pem: key_pem.to_owned(),
            created_at: now,
        })
    }

    /// Signs a charger's certificate signing request (PEM, PKCS#10), if its signature holds
    /// and its subject's common name is the charger's id: a client certificate valid for
    /// [`CHARGER_CERTIFICATE_DAYS`] from `now`, whatever else the request asks (never a CA).
    /// `Err` says why it is refused.
    pub fn sign_charger_request(
        &self,
        charger: &str,
        csr_pem: &str,
        now: i64,
    ) -> Result<SignedCertificate, String> {
        if csr_pem.len() > MOST_CSR_BYTES {
            return Err(format!("the request is over {MOST_CSR_BYTES} bytes"));
        }
        let (_, pem) = x509_parser::pem::parse_x509_pem(csr_pem.as_bytes())
            .map_err(|_| "the request is not PEM".to_owned())?;
        let (_, request) = x509_parser::certification_request::X509CertificationRequest::from_der(
            &pem.contents,
        )
        .map_err(|_| "the request is not a PKCS#10 certificate signing request".to_owned())?;
        let name = request
            .certification_request_info
            .subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default();
        if name != charger {
            return Err(format!(
                "the request's common name {name:?} is not the charger's id {charger:?}"
            ));
        }
        let mut asked = CertificateSigningRequestParams::from_der(&pem.contents.clone().into())
            .map_err(|e| format!("the request does not hold: {e}"))?;
        let (serial, serial_hex) = random_serial().map_err(|e| e.to_string())?;
        let not_after = now + CHARGER_CERTIFICATE_DAYS * 86_400;
        let params = &mut asked.params;
        params.is_ca = IsCa::ExplicitNoCa;
        params.subject_alt_names.clear();
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyAgreement,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = at(now - 300).map_err(|e| e.to_string())?;
        params.not_after = at(not_after).map_err(|e| e.to_string())?;
        params.serial_number = Some(serial);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::from_pem(&self.key_pem).map_err(|e| e.to_string())?;
        let issuer = Issuer::from_ca_cert_pem(&self.certificate_pem, key)
            .map_err(|e| format!("the authority's certificate: {e}"))?;
        let certificate = asked
            .signed_by(&issuer)
            .map_err(|e| format!("signing: {e}"))?;
        Ok(SignedCertificate {
            chain_pem: format!("{}{}", certificate.pem(), self.certificate_pem),
            serial: serial_hex,
            not_after,
        })
    }
}

/// The subject's common name of a DER certificate (a charger's TLS client certificate,
/// already verified against the authority by the TLS layer).
pub fn common_name_of(certificate_der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(certificate_der).ok()?;
    let name = cert.subject().iter_common_name().next()?.as_str().ok()?;
    Some(name.to_owned())
}

impl Charging {
    /// The platform's certificate authority: the stored one, or a new one created and stored
    /// (where several nodes create one at once, the first stored is everyone's).
    pub async fn certificate_authority(&self) -> Result<Authority, AppError> {
        if let Some(stored) = self.store.certificate_authority().await? {
            return self.opened(stored);
        }
        let created = Authority::create(evgrid_model::time::unix_now())?;
        if self
            .store
            .put_certificate_authority(&self.sealed(&created), false)
            .await?
        {
            tracing::info!("certificate authority created for chargers' certificates");
        }
        let stored =
            self.store.certificate_authority().await?.ok_or_else(|| {
                AppError::Invalid("the certificate authority was not stored".into())
            })?;
        self.opened(stored)
    }

    /// Replaces the platform's certificate authority with a given one (PEM certificate and
    /// key). Certificates the old one signed are no longer accepted once servers restart.
    pub async fn import_certificate_authority(
        &self,
        certificate_pem: &str,
        key_pem: &str,
    ) -> Result<Authority, AppError> {
        let given = Authority::given(certificate_pem, key_pem, evgrid_model::time::unix_now())?;
        self.store
            .put_certificate_authority(&self.sealed(&given), true)
            .await?;
        Ok(given)
    }

    /// Seals the authority's key again with the current secret key (after a rotation);
    /// whether there is an authority.
    pub async fn reseal_certificate_authority(&self) -> Result<bool, AppError> {
        let Some(stored) = self.store.certificate_authority().await? else {
            return Ok(false);
        };
        let opened = self.opened(stored)?;
        self.store
            .put_certificate_authority(&self.sealed(&opened), true)
            .await?;
        Ok(true)
    }

    /// Signs charger `charger`'s certificate signing request with the platform's authority;
    /// `Ok(Err(reason))` when the request is refused.
    pub async fn sign_charger_certificate(
        &self,
        charger: &str,
        csr_pem: &str,
    ) -> Result<Result<SignedCertificate, String>, AppError> {
        let authority = self.certificate_authority().await?;
        let signed =
            authority.sign_charger_request(charger, csr_pem, evgrid_model::time::unix_now());
        match &signed {
            Ok(s) => tracing::info!(charger, serial = %s.serial, "charger certificate signed"),
            Err(reason) => tracing::warn!(charger, %reason, "certificate signing request refused"),
        }
        Ok(signed)
    }

    fn sealed(&self, a: &Authority) -> StoredAuthority {
        StoredAuthority {
            certificate_pem: a.certificate_pem.clone(),
            key_sealed: self.live.seal(&a.key_pem),
            created_at: a.created_at,
        }
    }

    fn opened(&self, stored: StoredAuthority) -> Result<Authority, AppError> {
        Ok(Authority {
            key_pem: self.live.unseal(&stored.key_sealed)?,
            certificate_pem: stored.certificate_pem,
            created_at: stored.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    /// A request as a charger makes it: its own key, its id as the common name.
    fn request(common_name: &str) -> String {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Operator");
        params.serialize_request(&key).unwrap().pem().unwrap()
    }

    #[test]
    fn a_charger_request_is_signed_for_its_own_id_only() {
        let ca = Authority::create(NOW).unwrap();
        let signed = ca
            .sign_charger_request("CP-7", &request("CP-7"), NOW)
            .unwrap();
        assert_eq!(signed.not_after, NOW + CHARGER_CERTIFICATE_DAYS * 86_400);
        // The chain: the charger's certificate, then the authority's.
        let certs: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(signed.chain_pem.as_bytes())
            .map(|p| p.unwrap())
            .collect();
        assert_eq!(certs.len(), 2);
        let leaf = certs[0].parse_x509().unwrap();
        let root = certs[1].parse_x509().unwrap();
        assert_eq!(common_name_of(&certs[0].contents).as_deref(), Some("CP-7"));
        assert!(!leaf.is_ca() && root.is_ca());
        assert_eq!(leaf.issuer(), root.subject());
        leaf.verify_signature(Some(root.public_key())).unwrap();
        assert_eq!(crate::hex(leaf.raw_serial()), signed.serial);

        let other = ca.sign_charger_request("CP-7", &request("CP-8"), NOW);
        assert!(other.unwrap_err().contains("not the charger's id"));
        assert!(ca
            .sign_charger_request(
                "CP-7",
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                NOW
            )
            .is_err());
        assert!(ca.sign_charger_request("CP-7", "not pem", NOW).is_err());
        // A request whose signature does not hold (one byte of the signature changed).
        let good = request("CP-7");
        let (_, pem) = x509_parser::pem::parse_x509_pem(good.as_bytes()).unwrap();
        let mut der = pem.contents.clone();
        let last = der.len() - 1;
        der[last] ^= 1;
        let tampered = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der)
        );
        assert!(ca.sign_charger_request("CP-7", &tampered, NOW).is_err());
    }

    #[test]
    fn a_given_authority_must_be_a_ca_with_its_own_key() {
        let ca = Authority::create(NOW).unwrap();
        assert!(Authority::given(&ca.certificate_pem, &ca.key_pem, NOW).is_ok());
        let other = Authority::create(NOW).unwrap();
        let wrong_key = Authority::given(&ca.certificate_pem, &other.key_pem, NOW);
        assert!(wrong_key
            .unwrap_err()
            .to_string()
            .contains("not the certificate's"));
        // A charger's certificate is no authority.
        let signed = ca
            .sign_charger_request("CP-7", &request("CP-7"), NOW)
            .unwrap();
        let leaf = signed
            .chain_pem
            .split_inclusive("-----END CERTIFICATE-----\n")
            .next()
            .unwrap();
        assert!(Authority::given(leaf, &ca.key_pem, NOW)
            .unwrap_err()
            .to_string()
            .contains("not a certificate authority"));
    }
}
