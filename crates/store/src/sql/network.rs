//! The stations, their regions and operators.

use super::*;

/// Stations in one import above which the planner's statistics are refreshed after it.
const REFRESH_STATISTICS_AFTER: usize = 500;

#[async_trait]
impl NetworkStore for Engine {
    async fn put_regions(
        &self,
        counties: &[County],
        townships: &[Township],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        for c in counties {
            sqlx::query(
                "INSERT INTO counties (code, name_zh, name_pinyin, kind, seat_lat, seat_lng, area_km2, population, population_estimated)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_pinyin = excluded.name_pinyin,
                   kind = excluded.kind, seat_lat = excluded.seat_lat, seat_lng = excluded.seat_lng,
                   area_km2 = excluded.area_km2, population = excluded.population,
                   population_estimated = excluded.population_estimated",
            )
            .bind(&c.code)
            .bind(&c.name_zh)
            .bind(&c.name_pinyin)
            .bind(&c.kind)
            .bind(c.seat.lat)
            .bind(c.seat.lng)
            .bind(c.area_km2)
            .bind(c.population.map(|p| i64::try_from(p).unwrap_or(i64::MAX)))
            .bind(c.population_estimated)
            .execute(&mut *tx)
            .await?;
        }
        for t in townships {
            sqlx::query(
                "INSERT INTO townships (code, county_code, name_zh, kind, lat, lng, centre_method, population)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (code) DO UPDATE SET county_code = excluded.county_code, name_zh = excluded.name_zh,
                   kind = excluded.kind, lat = excluded.lat, lng = excluded.lng,
                   centre_method = excluded.centre_method, population = excluded.population",
            )
            .bind(&t.code)
            .bind(&t.county_code)
            .bind(&t.name_zh)
            .bind(&t.kind)
            .bind(t.centre.lat)
            .bind(t.centre.lng)
            .bind(&t.centre_method)
            .bind(t.population.map(|p| i64::try_from(p).unwrap_or(i64::MAX)))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn upsert_stations(
        &self,
        operators: &[Operator],
        stations: &[PlacedStation],
    ) -> Result<Vec<i64>, StoreError> {
        let now = unix_now();
        let mut tx = self.writer.begin().await?;
        for op in operators {
            // A name equal to the id means "no name known": never overwrite a real name with it.
            sqlx::query(
                "INSERT INTO operators (operator_id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (operator_id) DO UPDATE SET name = CASE WHEN excluded.name = excluded.operator_id
                   THEN operators.name ELSE excluded.name END",
            )
            .bind(op.id.as_str())
            .bind(&op.name)
            .bind(UnixTime(now))
            .execute(&mut *tx)
            .await?;
        }
        let mut pks = Vec::with_capacity(stations.len());
        // Phase 1: the station rows, and their old children removed, so that piles may move
        // between stations of the same batch.
        for p in stations {
            let s = &p.station;
            let pk: i64 = sqlx::query_scalar(
                "INSERT INTO stations (operator_id, station_id, name, station_type, category, status, lat, lng,
                   county_code, township_code, township_method, inside_city, address, area_code, equipment_owner_id,
                   country_code, service_tel, station_tel, park_nums, construction, site_guide, business_hours,
                   electricity_fee_text, service_fee_text, park_fee, payment, support_order, remark,
                   pile_count, connector_count, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                   $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)
                 ON CONFLICT (operator_id, station_id) DO UPDATE SET name = excluded.name,
                   station_type = excluded.station_type, category = excluded.category, status = excluded.status,
                   lat = excluded.lat, lng = excluded.lng, county_code = excluded.county_code,
                   township_code = excluded.township_code, township_method = excluded.township_method,
                   inside_city = excluded.inside_city, address = excluded.address, area_code = excluded.area_code,
                   equipment_owner_id = excluded.equipment_owner_id, country_code = excluded.country_code,
                   service_tel = excluded.service_tel, station_tel = excluded.station_tel,
                   park_nums = excluded.park_nums, construction = excluded.construction,
                   site_guide = excluded.site_guide, business_hours = excluded.business_hours,
                   electricity_fee_text = excluded.electricity_fee_text, service_fee_text = excluded.service_fee_text,
                   park_fee = excluded.park_fee, payment = excluded.payment, support_order = excluded.support_order,
                   remark = excluded.remark, pile_count = excluded.pile_count,
                   connector_count = excluded.connector_count, updated_at = excluded.updated_at
                 RETURNING id",
            )
            .bind(s.operator_id.as_str())
            .bind(&s.id)
            .bind(&s.name)
            .bind(s.station_type.0)
            .bind(s.category().as_str())
            .bind(s.status)
            .bind(s.location.lat)
            .bind(s.location.lng)
            .bind(&p.county_code)
            .bind(&p.township_code)
            .bind(p.township_method)
            .bind(p.inside_city)
            .bind(&s.address)
            .bind(&s.area_code)
            .bind(&s.equipment_owner_id)
            .bind(&s.country_code)
            .bind(&s.service_tel)
            .bind(&s.station_tel)
            .bind(s.park_nums)
            .bind(s.construction)
            .bind(&s.site_guide)
            .bind(&s.business_hours)
            .bind(&s.electricity_fee_text)
            .bind(&s.service_fee_text)
            .bind(&s.park_fee)
            .bind(&s.payment)
            .bind(s.support_order)
            .bind(&s.remark)
            .bind(i64::try_from(s.equipment.len()).unwrap_or(i64::MAX))
            .bind(i64::try_from(s.connector_count()).unwrap_or(i64::MAX))
            .bind(UnixTime(now))
            .fetch_one(&mut *tx)
            .await?;
            for table in ["connectors", "equipment", "tariff_periods"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE station_pk = $1"))
                    .bind(pk)
                    .execute(&mut *tx)
                    .await?;
            }
            pks.push(pk);
        }
        // Phase 2: piles, connectors and tariffs.
        for (p, &pk) in stations.iter().zip(&pks) {
            let s = &p.station;
            for (i, e) in s.equipment.iter().enumerate() {
                let epk: i64 = sqlx::query_scalar(
                    "INSERT INTO equipment (station_pk, operator_id, equipment_id, position, name, equipment_type,
                       power_w, manufacturer_name, model, production_date)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(pk)
                .bind(s.operator_id.as_str())
                .bind(&e.id)
                .bind(i64::try_from(i).unwrap_or(i64::MAX))
                .bind(&e.name)
                .bind(e.equipment_type.0)
                .bind(i64::from(e.power.0))
                .bind(&e.manufacturer_name)
                .bind(&e.model)
                .bind(&e.production_date)
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict_or)?;
                for (j, c) in e.connectors.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO connectors (equipment_pk, station_pk, operator_id, connector_id, position, name,
                           connector_type, national_standard, power_w, voltage_upper_v, voltage_lower_v, current_a, park_no)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    )
                    .bind(epk)
                    .bind(pk)
                    .bind(s.operator_id.as_str())
                    .bind(&c.id)
                    .bind(i64::try_from(j).unwrap_or(i64::MAX))
                    .bind(&c.name)
                    .bind(c.connector_type.0)
                    .bind(c.national_standard)
                    .bind(i64::from(c.power.0))
                    .bind(i64::from(c.voltage_upper_v))
                    .bind(i64::from(c.voltage_lower_v))
                    .bind(i64::from(c.current_a))
                    .bind(&c.park_no)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict_or)?;
                }
            }
            for period in s.tariff.iter().flat_map(|t| &t.periods) {
                sqlx::query(
                    "INSERT INTO tariff_periods (station_pk, start_second, electricity_centifen, service_centifen)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(pk)
                .bind(i64::from(period.start_second))
                .bind(period.electricity.0)
                .bind(period.service.0)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        if stations.len() >= REFRESH_STATISTICS_AFTER {
            if let Some(statement) = Db::REFRESH_NETWORK_STATISTICS {
                sqlx::query(statement).execute(&self.writer).await?;
            }
        }
        Ok(pks)
    }

    async fn index_rows(&self) -> Result<Vec<IndexRow>, StoreError> {
        let mut connectors: HashMap<i64, Vec<(i32, u32)>> = HashMap::new();
        for row in sqlx::query("SELECT station_pk, connector_type, power_w FROM connectors")
            .fetch_all(&self.pool)
            .await?
        {
            let pk: i64 = row.try_get(0)?;
            let power: i64 = row.try_get(2)?;
            connectors
                .entry(pk)
                .or_default()
                .push((row.try_get(1)?, to_u32(power)));
        }
        let rows = sqlx::query(&format!("SELECT {SUMMARY_COLUMNS} FROM stations"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let s = summary_from_row(row)?;
                Ok(IndexRow {
                    connectors: connectors.remove(&s.pk).unwrap_or_default(),
                    pk: s.pk,
                    key: s.key,
                    name: s.name,
                    category: s.category,
                    lat: s.lat,
                    lng: s.lng,
                })
            })
            .collect()
    }

    async fn list_stations(
        &self,
        filter: &StationListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<StationSummary>, i64), StoreError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut add = |column: &str, value: &Option<String>| {
            if let Some(v) = value {
                binds.push(v.clone());
                conditions.push(format!("{column} = ${}", binds.len()));
            }
        };
        add("county_code", &filter.county_code);
        add("township_code", &filter.township_code);
        add("operator_id", &filter.operator_id);
        add("category", &filter.category.map(|c| c.as_str().to_owned()));
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM stations {where_clause}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = count.bind(b);
        }
        let total = count.fetch_one(&self.pool).await?;
        let n = binds.len();
        let list_sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM stations {where_clause} ORDER BY operator_id, station_id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut list = sqlx::query(&list_sql);
        for b in &binds {
            list = list.bind(b);
        }
        let rows = list.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;
        Ok((items, total))
    }

    async fn summaries(&self, pks: &[i64]) -> Result<Vec<StationSummary>, StoreError> {
        let mut out = Vec::with_capacity(pks.len());
        for chunk in pks.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM stations WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for pk in chunk {
                q = q.bind(pk);
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(summary_from_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn station(&self, key: &StationKey) -> Result<Option<StationRecord>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT * FROM stations WHERE operator_id = $1 AND station_id = $2")
                .bind(key.operator_id.as_str())
                .bind(&key.station_id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let summary = summary_from_row(&row)?;
        let mut connectors: HashMap<i64, Vec<Connector>> = HashMap::new();
        for c in sqlx::query(
            "SELECT * FROM connectors WHERE station_pk = $1 ORDER BY equipment_pk, position",
        )
        .bind(summary.pk)
        .fetch_all(&self.pool)
        .await?
        {
            connectors
                .entry(c.try_get("equipment_pk")?)
                .or_default()
                .push(Connector {
                    id: c.try_get("connector_id")?,
                    name: c.try_get("name")?,
                    connector_type: ConnectorType(c.try_get("connector_type")?),
                    national_standard: c.try_get("national_standard")?,
                    power: Power(to_u32(c.try_get("power_w")?)),
                    voltage_upper_v: to_u32(c.try_get("voltage_upper_v")?),
                    voltage_lower_v: to_u32(c.try_get("voltage_lower_v")?),
                    current_a: to_u32(c.try_get("current_a")?),
                    park_no: c.try_get("park_no")?,
                });
        }
        let mut equipment = Vec::new();
        for e in sqlx::query("SELECT * FROM equipment WHERE station_pk = $1 ORDER BY position")
            .bind(summary.pk)
            .fetch_all(&self.pool)
            .await?
        {
            let epk: i64 = e.try_get("id")?;
            equipment.push(Equipment {
                id: e.try_get("equipment_id")?,
                name: e.try_get("name")?,
                equipment_type: EquipmentType(e.try_get("equipment_type")?),
                power: Power(to_u32(e.try_get("power_w")?)),
                manufacturer_name: e.try_get("manufacturer_name")?,
                model: e.try_get("model")?,
                production_date: e.try_get("production_date")?,
                connectors: connectors.remove(&epk).unwrap_or_default(),
            });
        }
        let periods =
            sqlx::query("SELECT * FROM tariff_periods WHERE station_pk = $1 ORDER BY start_second")
                .bind(summary.pk)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(TariffPeriod {
                        start_second: to_u32(r.try_get("start_second")?),
                        electricity: PricePerKwh(r.try_get("electricity_centifen")?),
                        service: PricePerKwh(r.try_get("service_centifen")?),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        let tariff = if periods.is_empty() {
            None
        } else {
            Some(Tariff::new(periods).map_err(|e| corrupt("tariff_periods", e.to_string()))?)
        };
        let station = Station {
            operator_id: summary.key.operator_id.clone(),
            id: summary.key.station_id.clone(),
            name: summary.name.clone(),
            station_type: StationType(summary.station_type),
            status: row.try_get("status")?,
            location: LatLng::new(summary.lat, summary.lng),
            address: row.try_get("address")?,
            area_code: row.try_get("area_code")?,
            equipment_owner_id: row.try_get("equipment_owner_id")?,
            country_code: row.try_get("country_code")?,
            service_tel: row.try_get("service_tel")?,
            station_tel: row.try_get("station_tel")?,
            park_nums: row.try_get("park_nums")?,
            construction: row.try_get("construction")?,
            site_guide: row.try_get("site_guide")?,
            business_hours: row.try_get("business_hours")?,
            electricity_fee_text: row.try_get("electricity_fee_text")?,
            service_fee_text: row.try_get("service_fee_text")?,
            park_fee: row.try_get("park_fee")?,
            payment: row.try_get("payment")?,
            support_order: row.try_get("support_order")?,
            remark: row.try_get("remark")?,
            tariff,
            equipment,
        };
        Ok(Some(StationRecord {
            township_method: row.try_get("township_method")?,
            updated_at: row.try_get::<UnixTime, _>("updated_at")?.0,
            summary,
            station,
        }))
    }

    async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        sqlx::query("SELECT operator_id, name FROM operators ORDER BY operator_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                Ok(Operator {
                    id: OperatorId::new(&id).map_err(|e| corrupt("operators", e.to_string()))?,
                    name: r.try_get(1)?,
                })
            })
            .collect()
    }

    async fn regions(&self) -> Result<(Vec<County>, Vec<Township>), StoreError> {
        let counties = sqlx::query("SELECT * FROM counties ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let population: Option<i64> = r.try_get("population")?;
                Ok(County {
                    code: r.try_get("code")?,
                    name_zh: r.try_get("name_zh")?,
                    name_pinyin: r.try_get("name_pinyin")?,
                    kind: r.try_get("kind")?,
                    seat: LatLng::new(r.try_get("seat_lat")?, r.try_get("seat_lng")?),
                    area_km2: r.try_get("area_km2")?,
                    population: population.and_then(|p| u64::try_from(p).ok()),
                    population_estimated: r.try_get("population_estimated")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let townships = sqlx::query("SELECT * FROM townships ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let population: Option<i64> = r.try_get("population")?;
                Ok(Township {
                    code: r.try_get("code")?,
                    name_zh: r.try_get("name_zh")?,
                    county_code: r.try_get("county_code")?,
                    kind: r.try_get("kind")?,
                    centre: LatLng::new(r.try_get("lat")?, r.try_get("lng")?),
                    centre_method: r.try_get("centre_method")?,
                    population: population.and_then(|p| u64::try_from(p).ok()),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((counties, townships))
    }

    async fn region_counts(&self) -> Result<RegionCounts, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT county_code, township_code, category, COUNT(*) AS stations,
                    {} AS piles, {} AS connectors
             FROM stations GROUP BY county_code, township_code, category
             ORDER BY county_code, township_code, category",
            Db::sum_int("pile_count"),
            Db::sum_int("connector_count")
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut out = RegionCounts::default();
        let mut counties: Vec<(Option<String>, Counts)> = Vec::new();
        let mut townships: Vec<(Option<String>, Counts)> = Vec::new();
        for r in rows {
            let county: Option<String> = r.try_get("county_code")?;
            let township: Option<String> = r.try_get("township_code")?;
            let category: String = r.try_get("category")?;
            let category = Category::from_str(&category).map_err(|e| corrupt("stations", e))?;
            let (stations, piles, connectors): (i64, i64, i64) = (
                r.try_get("stations")?,
                r.try_get("piles")?,
                r.try_get("connectors")?,
            );
            let add = |c: &mut Counts| {
                c.stations.add(category, stations);
                c.piles.add(category, piles);
                c.connectors.add(category, connectors);
            };
            add(&mut out.city);
            for (list, code) in [(&mut counties, county), (&mut townships, township)] {
                match list.iter_mut().find(|(k, _)| *k == code) {
                    Some((_, c)) => add(c),
                    None => {
                        let mut c = Counts::default();
                        add(&mut c);
                        list.push((code, c));
                    }
                }
            }
        }
        out.by_county = counties;
        out.by_township = townships;
        Ok(out)
    }

    async fn stations_missing_fields(&self, id: &OperatorId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM stations WHERE operator_id = $1
               AND (TRIM(address) = '' OR TRIM(service_tel) = '' OR TRIM(area_code) = '')",
        )
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?)
    }

    async fn connector_ids(&self, id: &OperatorId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT connector_id FROM connectors WHERE operator_id = $1 ORDER BY connector_id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn station_ids(&self, id: &OperatorId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT station_id FROM stations WHERE operator_id = $1 ORDER BY station_id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn fingerprint(&self) -> Result<String, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT (SELECT COUNT(*) FROM operators), (SELECT COUNT(*) FROM stations),
                    (SELECT COUNT(*) FROM equipment), (SELECT COUNT(*) FROM connectors),
                    (SELECT COUNT(*) FROM tariff_periods) + (SELECT COUNT(*) FROM connector_status) * 1000000,
                    (SELECT COALESCE({}, 0) FROM stations) + (SELECT COALESCE({}, 0) FROM connector_status)
                      + (SELECT COUNT(*) * 7 + COALESCE({}, 0) FROM charging_sessions)
                      + (SELECT COUNT(*) * 13 FROM charging_periods) + (SELECT COUNT(*) * 17 FROM order_checks),
                    (SELECT COALESCE({}, 0) FROM connectors), (SELECT COALESCE(SUM(lat + lng), 0.0) FROM stations)",
            Db::epoch("MAX(updated_at)"),
            Db::sum_int(&Db::epoch("observed_at")),
            Db::sum_int(&Db::epoch("updated_at")),
            Db::sum_int("id")
        ))
        .fetch_one(&self.pool)
        .await?;
        let ints: Vec<i64> = (0..7)
            .map(|i| row.try_get::<i64, _>(i))
            .collect::<Result<_, _>>()?;
        let coords: f64 = row.try_get(7)?;
        Ok(format!("{ints:?}/{coords:.9}"))
    }

    async fn charge_places(
        &self,
        connectors: &[(String, String)],
    ) -> Result<Vec<((String, String), evgrid_model::ChargePlace)>, StoreError> {
        let mut out = Vec::with_capacity(connectors.len());
        for chunk in connectors.chunks(sessions::KEYS_PER_STATEMENT) {
            let sql = format!(
                "SELECT c.operator_id, c.connector_id, s.operator_id || ':' || s.station_id,
                        s.name, s.address, o.name, c.power_w
                 FROM connectors c
                 JOIN stations s ON s.id = c.station_pk
                 JOIN operators o ON o.operator_id = s.operator_id
                 WHERE (c.operator_id, c.connector_id) IN (VALUES {})",
                value_rows(chunk.len(), 2)
            );
            let mut q =
                sqlx::query_as::<_, (String, String, String, String, String, String, i64)>(&sql);
            for (operator, connector) in chunk {
                q = q.bind(operator).bind(connector);
            }
            for (operator, connector, station_id, station_name, address, operator_name, power_w) in
                q.fetch_all(&self.pool).await?
            {
                out.push((
                    (operator, connector),
                    evgrid_model::ChargePlace {
                        station_id,
                        station_name,
                        address,
                        operator_name,
                        power_w,
                    },
                ));
            }
        }
        Ok(out)
    }

    async fn charge_place(
        &self,
        operator_id: &str,
        connector_id: &str,
    ) -> Result<Option<evgrid_model::ChargePlace>, StoreError> {
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT s.operator_id || ':' || s.station_id, s.name, s.address, o.name, c.power_w
             FROM connectors c
             JOIN stations s ON s.id = c.station_pk
             JOIN operators o ON o.operator_id = s.operator_id
             WHERE c.operator_id = $1 AND c.connector_id = $2
             LIMIT 1",
        )
        .bind(operator_id)
        .bind(connector_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(station_id, station_name, address, operator_name, power_w)| {
                evgrid_model::ChargePlace {
                    station_id,
                    station_name,
                    address,
                    operator_name,
                    power_w,
                }
            },
        ))
    }
}
