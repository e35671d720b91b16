"""The results document format (`document`): its header, sections, the style
values it holds and the checks a reader applies. The dashboard reads only this.

May import: errors, io, version, ir.
"""
