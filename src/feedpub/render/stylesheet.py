"""The XSL view: a feed opened in a browser reads as a page, not as markup.

One stylesheet serves RSS and Atom. It explains what a feed is and how to
subscribe (in the feed's language: simplified or traditional Chinese, else
English; for an archive page, the current feed's address), then lists the items. The feed itself stays a valid feed: the
`<?xml-stylesheet?>` instruction is ignored by readers.
"""

from __future__ import annotations

from html import escape

from .pages import WORDS

_XSL = r"""<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="yes"
      doctype-system="about:legacy-compat"/>

  <xsl:variable name="lang" select="string((/rss/channel/language | /atom:feed/@xml:lang)[1])"/>
  <xsl:variable name="lc" select="translate($lang, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_', 'abcdefghijklmnopqrstuvwxyz-')"/>
  <xsl:variable name="zh" select="$lc = 'zh' or starts-with($lc, 'zh-')"/>
  <xsl:variable name="hant" select="$zh and (contains($lc, '-hant') or contains($lc, '-tw') or contains($lc, '-hk') or contains($lc, '-mo'))"/>
  <xsl:variable name="title" select="string((/rss/channel/title | /atom:feed/atom:title)[1])"/>
  <!-- An archive page is subscribed to through its current feed, never by its own URL. -->
  <xsl:variable name="current"
      select="string((/rss/channel/atom:link[@rel='current']/@href | /atom:feed/atom:link[@rel='current']/@href)[1])"/>
  <xsl:variable name="own"
      select="string((/rss/channel/atom:link[@rel='self']/@href | /atom:feed/atom:link[@rel='self']/@href)[1])"/>
  <xsl:variable name="self">
    <xsl:choose>
      <xsl:when test="$current != ''"><xsl:value-of select="$current"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$own"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
  <xsl:variable name="home"
      select="string((/rss/channel/link | /atom:feed/atom:link[@rel='alternate']/@href)[1])"/>

  <xsl:template match="/">
    <html lang="{$lang}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/></title>
        <style>
          body{font:16px/1.7 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
               max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
          a{color:#0b5cad} .note{background:#fff8dc;border:1px solid #ecd98b;padding:.8rem 1rem;border-radius:6px}
          code{background:#f3f3f3;padding:.1rem .3rem;word-break:break-all} .meta{color:#666;font-size:.9rem}
          li{margin:.6rem 0}
        </style>
      </head>
      <body>
        <div class="note">
          <xsl:choose>
            <xsl:when test="$hant"><p>@@zh-Hant@@</p></xsl:when>
            <xsl:when test="$zh"><p>@@zh-Hans@@</p></xsl:when>
            <xsl:otherwise><p>@@en@@</p></xsl:otherwise>
          </xsl:choose>
          <p><code><xsl:value-of select="$self"/></code></p>
        </div>
        <h1><a href="{$home}"><xsl:value-of select="$title"/></a></h1>
        <ul>
          <xsl:apply-templates select="/rss/channel/item | /atom:feed/atom:entry"/>
        </ul>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <a href="{link}"><xsl:value-of select="title"/></a>
      <div class="meta"><xsl:value-of select="pubDate"/></div>
    </li>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <a href="{atom:link[not(@rel) or @rel='alternate'][1]/@href}"><xsl:value-of select="atom:title"/></a>
      <div class="meta"><xsl:value-of select="substring(atom:published, 1, 16)"/></div>
    </li>
  </xsl:template>
</xsl:stylesheet>
"""


def xsl() -> bytes:
    text = _XSL
    for script, w in WORDS.items():
        text = text.replace(f"@@{script}@@", escape(w["note"]))
    return text.encode("utf-8")
